import { describe, expect, it } from 'vitest'

import { modelPathFromArgv } from '../../../src-main/app/argv'

describe('opening a model from the OS', () => {
  it('takes the last .onnx argument, not flags or the app itself', () => {
    expect(modelPathFromArgv(['/opt/Stepwise/stepwise', '--no-sandbox', '/home/me/unet.onnx'])).toBe(
      '/home/me/unet.onnx',
    )
    expect(modelPathFromArgv(['C:\\Stepwise\\Stepwise.exe', 'C:\\models\\A.ONNX'])).toBe('C:\\models\\A.ONNX')
    expect(modelPathFromArgv(['/opt/Stepwise/stepwise', '/a.onnx', '/b.onnx'])).toBe('/b.onnx')
    expect(modelPathFromArgv(['/opt/Stepwise/stepwise', '.'])).toBeUndefined()
    expect(modelPathFromArgv(['electron', '--inspect=5858'])).toBeUndefined()
  })
})
