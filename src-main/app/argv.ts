/**
 * A model handed over by the OS on the command line (no security-checklist item): double-clicking a .onnx
 * file starts Stepwise with its path; a second start hands its arguments to the first.
 */

/** The last .onnx argument, never a flag (Chromium's and Electron's own) nor the executable itself. */
export function modelPathFromArgv(argv: string[]): string | undefined {
  return argv
    .slice(1)
    .filter((a) => !a.startsWith('-') && a.toLowerCase().endsWith('.onnx'))
    .at(-1)
}
