/** Execution providers: the order per platform, and falling back with the reason shown. */
import { describe, expect, it } from 'vitest'

import { defaultModelPath } from '../../../../src-main/engine/model/default-model'
import { loadModel } from '../../../../src-main/engine/model/load'
import { defaultProviderOrder } from '../../../../src-main/engine/model/providers'

describe('execution providers', () => {
  it('each platform tries its own GPU path, then WebGPU, then the CPU', () => {
    expect(defaultProviderOrder('linux')).toEqual(['cuda', 'webgpu', 'cpu'])
    expect(defaultProviderOrder('win32')).toEqual(['dml', 'webgpu', 'cpu'])
    expect(defaultProviderOrder('darwin')).toEqual(['coreml', 'webgpu', 'cpu'])
  })
  it('a provider that cannot start falls back to the next, and the model says which runs and why', async () => {
    // On a machine without a GPU (CI) WebGPU is skipped; where it starts, it is the provider in use.
    const model = await loadModel(defaultModelPath(), { providers: ['coreml', 'webgpu', 'cpu'] })
    const { provider, skippedProviders } = model.info
    expect(skippedProviders[0]).toMatchObject({ provider: 'coreml' })
    if (process.platform !== 'darwin') expect(skippedProviders[0].reason).toMatch(/only on darwin|not in this build/)
    if (provider === 'cpu') {
      expect(skippedProviders.map((s) => s.provider)).toEqual(['coreml', 'webgpu'])
      expect(skippedProviders[1].reason.length).toBeGreaterThan(5)
    } else expect(provider).toBe('webgpu')
    await model.release()
  })
  it('a list with no working provider is an error naming the file and each reason', async () => {
    const other = process.platform === 'darwin' ? 'dml' : 'coreml'
    await expect(loadModel(defaultModelPath(), { providers: [other] })).rejects.toMatchObject({
      code: 'provider-failed',
      message: expect.stringContaining(`${other}: only on`),
    })
  })
})
