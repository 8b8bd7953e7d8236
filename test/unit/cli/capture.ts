/** Run the CLI's main() in this process, capturing what it writes to stdout and stderr. */
import { vi } from 'vitest'

import { main } from '../../../src-main/cli'

export async function cli(...argv: string[]) {
  let stdout = '',
    stderr = ''
  const write = (to: (chunk: string) => void) => (chunk: unknown) => (to(String(chunk)), true)
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(write((c) => (stdout += c)))
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(write((c) => (stderr += c)))
  try {
    const code = await main(argv)
    return { code, stdout, stderr }
  } finally {
    out.mockRestore()
    err.mockRestore()
  }
}
