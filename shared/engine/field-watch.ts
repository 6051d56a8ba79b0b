import { JSONParser, TokenType } from '@streamparser/json';

/**
 * Follows a structured answer (one JSON object) as it streams, and reports one of its top-level fields as soon
 * as that field can no longer change: its value is complete, the answer has begun a field that the schema
 * puts after it (an omitted field keeps its default, reported as `undefined`), or the object has closed.
 * Models write fields in schema order; one that does not only makes the report wrong, so a caller acting on
 * it before the answer ends must check it against the parsed answer.
 */
export class FieldWatch {
  private parser: JSONParser;
  private settled = false;
  private depth = 0;
  private expectingKey = false;

  /**
   * @param field the top-level field to report
   * @param later the fields the schema puts after `field`
   * @param onFinal called once per answer with the field's value
   */
  constructor(
    private readonly field: string,
    private readonly later: ReadonlySet<string>,
    private readonly onFinal: (value: unknown) => void,
  ) {
    this.parser = this.newParser();
  }

  /** The next piece of the answer's text. */
  write(text: string): void {
    if (!this.settled) this.parser.write(text);
  }

  /** A new answer begins (a retried attempt): what the previous one reported no longer counts. */
  restart(): void {
    this.settled = false;
    this.depth = 0;
    this.expectingKey = false;
    this.parser = this.newParser();
  }

  private settle(value: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.onFinal(value);
  }

  private newParser(): JSONParser {
    const parser = new JSONParser({ paths: [`$.${this.field}`], keepStack: false });
    parser.onValue = ({ value }) => this.settle(value);
    // An answer that is not JSON reports nothing early; the caller reads it when it ends.
    parser.onError = () => {
      this.settled = true;
    };
    parser.onToken = ({ token, value }) => {
      if (token === TokenType.LEFT_BRACE || token === TokenType.LEFT_BRACKET) {
        this.depth += 1;
        this.expectingKey = token === TokenType.LEFT_BRACE && this.depth === 1;
        return;
      }
      if (token === TokenType.RIGHT_BRACE || token === TokenType.RIGHT_BRACKET) {
        this.depth -= 1;
        if (this.depth === 0) this.settle(undefined);
        return;
      }
      if (this.depth !== 1) return;
      if (token === TokenType.COMMA) {
        this.expectingKey = true;
        return;
      }
      if (token === TokenType.STRING && this.expectingKey) {
        this.expectingKey = false;
        if (typeof value === 'string' && this.later.has(value)) this.settle(undefined);
      }
    };
    return parser;
  }
}
