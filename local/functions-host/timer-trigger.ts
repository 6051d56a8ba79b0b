import { Cron } from 'croner';
import type { Logger } from '../../shared/logger';
import type { FunctionInvoker, HostExtension, RegisteredFunction } from './extension';
import { resolveSettingReferences } from './settings';

interface Schedule {
  /** Time until the next occurrence after `from`. */
  next(from: Date): Date;
}

/** NCRONTAB (six fields, seconds first) or a TimeSpan such as `00:05:00`, the two forms the host accepts. */
export function parseSchedule(expression: string): Schedule {
  const timeSpan = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$/.exec(expression.trim());
  if (timeSpan) {
    const [, days = '0', hours = '0', minutes = '0', seconds = '0'] = timeSpan;
    const periodMs =
      (((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000;
    if (periodMs <= 0) throw new Error(`Timer period "${expression}" must be positive.`);
    return { next: (from) => new Date(from.getTime() + periodMs) };
  }
  const cron = new Cron(expression, { mode: '6-part', timezone: 'UTC', paused: true });
  return {
    next: (from) => {
      const next = cron.nextRun(from);
      if (!next) throw new Error(`Timer schedule "${expression}" has no future occurrence.`);
      return next;
    },
  };
}

/** Runs timer-triggered functions on their schedules (UTC), with `runOnStartup` honoured. */
export class TimerTriggerExtension implements HostExtension {
  readonly name = 'timers';
  readonly triggerTypes = ['timerTrigger'];
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly logger: Logger) {}

  start(invoker: FunctionInvoker): Promise<void> {
    for (const fn of invoker.list()) {
      if (fn.trigger.type !== 'timerTrigger') continue;
      const expression = resolveSettingReferences(String(fn.trigger.schedule));
      const schedule = parseSchedule(expression);
      let last: Date | undefined;
      const run = (due: Date, isPastDue: boolean): void => {
        const next = schedule.next(due);
        const payload = {
          Schedule: { AdjustForDST: true },
          ScheduleStatus: {
            Last: (last ?? due).toISOString(),
            Next: next.toISOString(),
            LastUpdated: new Date().toISOString(),
          },
          IsPastDue: isPastDue,
        };
        last = due;
        void this.fire(invoker, fn, payload);
      };
      const arm = (from: Date): void => {
        if (this.stopped) return;
        const due = schedule.next(from);
        const timer = setTimeout(
          () => {
            this.timers.delete(timer);
            const lateMs = Date.now() - due.getTime();
            run(due, lateMs > 1000);
            arm(due);
          },
          Math.max(0, due.getTime() - Date.now()),
        );
        this.timers.add(timer);
      };
      if (fn.trigger.runOnStartup === true) run(new Date(), false);
      arm(new Date());
      this.logger.info({ functionName: fn.name, schedule: expression }, 'timer scheduled');
    }
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    return Promise.resolve();
  }

  private async fire(invoker: FunctionInvoker, fn: RegisteredFunction, payload: object): Promise<void> {
    try {
      await invoker.invoke(fn.name, { triggerData: { json: JSON.stringify(payload) } });
    } catch (error: unknown) {
      this.logger.error({ err: error, functionName: fn.name }, 'timer function failed');
    }
  }
}
