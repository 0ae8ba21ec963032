export { BASE, call, cookieFor } from '../../support/routes';

/** The `data:` payloads of a server-sent-event body. */
export const sseEvents = (text: string) =>
  text
    .split('\n')
    .filter((line) => line.startsWith('data: ') && line !== 'data: [DONE]')
    .map((line) => JSON.parse(line.slice(6)) as Record<string, any>);
