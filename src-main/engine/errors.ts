/**
 * Errors as values: every failure the engine reports carries a code the adapters can branch on and a
 * message a user can act on (naming the file, saying what was expected). Across IPC only data survives,
 * so adapters send `toErrorData(e)` rather than the Error itself.
 */

import type { ErrorCode, ErrorData } from '../../src-shared/errors'

export type { ErrorCode, ErrorData }

export class EngineError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'EngineError'
  }
}

/** An EngineError keeps its code; anything else thrown is an unexpected 'runtime-error'. */
export const toErrorData = (e: unknown): ErrorData =>
  e instanceof EngineError
    ? { code: e.code, message: e.message }
    : { code: 'runtime-error', message: e instanceof Error ? e.message : String(e) }
