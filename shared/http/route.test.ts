import { HttpRequest } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { corsHeaders } from './route';

const request = (origin?: string) =>
  new HttpRequest({ method: 'GET', url: 'http://localhost/api/v1/jobs', headers: origin ? { origin } : {} });

describe('CORS', () => {
  it('allows only listed origins and echoes the one that asked', () => {
    const headers = corsHeaders(
      request('https://chat.example.com'),
      'https://other.example, https://chat.example.com',
    );
    expect(headers['access-control-allow-origin']).toBe('https://chat.example.com');
    expect(headers.vary).toBe('Origin');
    expect(headers['access-control-allow-headers']).toContain('authorization');
    expect(corsHeaders(request('https://evil.example'), 'https://chat.example.com')).toEqual({});
  });

  it('allows any origin with *, and nothing when unconfigured or without an Origin header', () => {
    expect(corsHeaders(request('https://anywhere.example'), '*')['access-control-allow-origin']).toBe('*');
    expect(corsHeaders(request('https://anywhere.example'), '')).toEqual({});
    expect(corsHeaders(request(), '*')).toEqual({});
  });
});
