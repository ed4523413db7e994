import { isObject } from '../project/model.js';
import type { ResponseShape } from './invoke-request.js';

/** The most text an answer keeps for its expectations; what a plugin streams beyond it is not read. */
export const MAX_ANSWER_TEXT = 8 * 1024 * 1024;
/** The most JSON values an answer keeps (JSON messages, an endpoint body). */
const MAX_ANSWER_JSON = 10_000;
/**
 * The most JSON text those values may add up to: a plugin's line may be 64 MiB, so a count alone
 * would let ten thousand of them be kept.
 */
export const MAX_ANSWER_JSON_CHARS = 16 * 1024 * 1024;

/** The text of one LLM result chunk (dify-plugin-sdks `LLMResultChunk`): its delta's content. */
export function chunkText(chunk: Record<string, unknown>): string {
  const delta = chunk.delta as Record<string, unknown> | undefined;
  const message = delta?.message as Record<string, unknown> | undefined;
  const content = message?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content
      .map((c) =>
        typeof c === 'object' && c !== null && (c as { type?: unknown }).type === 'text'
          ? String((c as { data?: unknown }).data ?? '')
          : '',
      )
      .join('');
  return '';
}

/**
 * What an answer says, for `tests/*.invoke.yaml` expectations: its text (the text messages of a
 * tool or agent strategy, an LLM's streamed content, an endpoint's body) and its JSON values (JSON
 * messages, an endpoint body that is JSON, the `result` of each datasource message). Bounded: a plugin that streams without end fills neither past its limit.
 */
export class Answer {
  private readonly texts: string[] = [];
  private textLength = 0;
  readonly json: unknown[] = [];
  private jsonLength = 0;
  private readonly body: Buffer[] = [];
  private bodyLength = 0;

  constructor(private readonly shape: ResponseShape) {}

  /** One streamed message, as the plugin sent it. */
  add(m: Record<string, unknown>): void {
    if (this.shape === 'llm') return this.addText(chunkText(m));
    if (this.shape === 'messages') {
      const body = isObject(m.message) ? m.message : {};
      if (m.type === 'text') this.addText(String(body.text ?? ''));
      else if (m.type === 'json') this.addJson(body.json_object ?? null);
      return;
    }
    // A crawl's progress and a datasource's listing: `{result: ...}` objects.
    if (this.shape !== 'endpoint') return this.addJson(m.result ?? null);
    // The SDK's endpoint answer: `{status, headers}`, then `{result: <hex>}` pieces of the body.
    if (typeof m.result === 'string' && /^(?:[0-9a-f]{2})*$/i.test(m.result) && this.bodyLength < MAX_ANSWER_TEXT) {
      const piece = Buffer.from(m.result, 'hex');
      this.body.push(piece);
      this.bodyLength += piece.length;
    }
  }

  /** An error the invocation ended with is part of what the answer says. */
  addError(message: string): void {
    this.addText((this.textLength ? '\n' : '') + message);
  }

  get text(): string {
    const body = Buffer.concat(this.body).toString('utf8');
    return (body + this.texts.join('')).slice(0, MAX_ANSWER_TEXT);
  }

  /** The JSON values, an endpoint body that parses as JSON included. */
  jsonValues(): unknown[] {
    if (this.shape !== 'endpoint' || !this.body.length) return this.json;
    try {
      return [...this.json, JSON.parse(Buffer.concat(this.body).toString('utf8')) as unknown];
    } catch {
      return this.json;
    }
  }

  private addJson(value: unknown): void {
    if (this.json.length >= MAX_ANSWER_JSON || this.jsonLength >= MAX_ANSWER_JSON_CHARS) return;
    // Its size as JSON text (a value parsed from a line always stringifies).
    const length = JSON.stringify(value)?.length ?? 0;
    if (this.jsonLength + length > MAX_ANSWER_JSON_CHARS) {
      this.jsonLength = MAX_ANSWER_JSON_CHARS; // later values would not be the answer's start
      return;
    }
    this.jsonLength += length;
    this.json.push(value);
  }

  private addText(text: string): void {
    if (!text || this.textLength >= MAX_ANSWER_TEXT) return;
    this.texts.push(text);
    this.textLength += text.length;
  }
}
