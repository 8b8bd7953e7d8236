/**
 * Errors as data: every failure carries a code an adapter can branch on and a message a user can act on
 * (naming the file, saying what was expected). Across IPC and the WebSocket only data survives.
 */
export const ERROR_CODES = [
  'file-not-found',
  'not-onnx',
  'truncated',
  'not-a-denoiser',
  'unsupported-dtype',
  'unsupported-operator',
  /** A model kind or option Stepwise cannot build yet (a text-conditioned U-Net, an unknown block type). */
  'unsupported-model',
  /** A weights file that is damaged or not what its name says (safetensors, PyTorch zip, pickle). */
  'bad-weights',
  /** A pickle that would call something other than what a state dict uses: refused, never run. */
  'unsafe-pickle',
  'bad-metadata',
  'bad-argument',
  'file-exists',
  'bad-npy',
  'bad-png',
  'provider-failed',
  'cancelled',
  'runtime-error',
] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

export interface ErrorData {
  code: ErrorCode
  message: string
}
