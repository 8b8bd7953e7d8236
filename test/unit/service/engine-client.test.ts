import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { unavailableReason } from '../../../src-main/engine/model/providers'
import type { ChildOutput } from '../../../src-main/engine/model/webgpu-probe'
import { type EngineClient, startEngine } from '../../../src-main/service/engine-client'
import type { EngineChannel, EventName, Events } from '../../../src-preload/contract'

let engine: EngineClient

/** Every event of one kind from now on, and a way to wait for the first that matches. */
function collect<E extends EventName>(event: E) {
  const seen: Events[E][] = []
  const waiters: [(p: Events[E]) => boolean, (p: Events[E]) => void][] = []
  const off = engine.on(event, (p) => {
    seen.push(p)
    for (const w of [...waiters])
      if (w[0](p)) {
        waiters.splice(waiters.indexOf(w), 1)
        w[1](p)
      }
  })
  const next = (match: (p: Events[E]) => boolean) =>
    new Promise<Events[E]>((resolve) => {
      const found = seen.find(match)
      if (found) resolve(found)
      else waiters.push([match, resolve])
    })
  return { seen, next, off }
}

const endOf = (runId: string) => {
  const done = collect('done'),
    failed = collect('failed')
  return Promise.race([
    done.next((p) => p.runId === runId).then((p) => ({ kind: 'done' as const, p })),
    failed.next((p) => p.runId === runId).then((p) => ({ kind: 'failed' as const, p })),
  ]).finally(() => {
    done.off()
    failed.off()
  })
}

beforeAll(async () => {
  engine = startEngine()
  const r = await engine.request('model.load', { providers: ['cpu'] })
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`)
})

afterAll(async () => {
  await engine?.close()
})

describe('engine service through the worker', () => {
  it('model.load returns the default model card', async () => {
    const r = await engine.request('model.load', { providers: ['cpu'] })
    if (!r.ok) throw new Error(r.error.message)
    expect(r.value.channels).toBe(1)
    expect(r.value.classes?.names).toHaveLength(10)
    expect(r.value.classes?.nullClassId).toBe(10)
    expect(r.value.provider).toBe('cpu')
    expect(r.value.height).toBe(28)
    expect(r.value.width).toBe(28)
    // Plain JSON: survives a round trip unchanged.
    expect(JSON.parse(JSON.stringify(r.value))).toEqual(r.value)
  })

  it('sample.start streams float32 frames, progress and done while the main thread stays free', async () => {
    const frames = collect('frame'),
      progress = collect('progress'),
      done = collect('done')
    let ticks = 0
    const timer = setInterval(() => ticks++, 5)
    try {
      const r = await engine.request('sample.start', {
        sampler: { sampler: 'ddim', steps: 10 },
        seed: 0,
        batch: 2,
        classLabel: 3,
        guidance: 3,
      })
      if (!r.ok) throw new Error(r.error.message)
      expect(r.value.timesteps).toHaveLength(10)
      expect(r.value.shape).toEqual({ batch: 2, channels: 1, height: 28, width: 28 })
      const end = await done.next((p) => p.runId === r.value.runId)
      const mine = frames.seen.filter((f) => f.runId === r.value.runId)
      expect(mine.map((f) => f.index)).toEqual([...Array(10).keys()])
      expect(mine.map((f) => f.timestep)).toEqual(r.value.timesteps)
      // Every step's record; images with the first, the last, and about once a display frame between.
      expect(mine[0].pixels && mine[9].pixels).toBeTruthy()
      for (const f of mine) {
        for (const buf of f.pixels ? [f.pixels.sample, f.pixels.predictedX0] : []) {
          expect(buf).toBeInstanceOf(ArrayBuffer)
          expect(new Float32Array(buf).length).toBe(2 * 1 * 28 * 28)
        }
        expect(f.alphaBar).toBeGreaterThan(0)
        expect(f.stats).toHaveLength(2)
      }
      expect(progress.seen.filter((p) => p.runId === r.value.runId).map((p) => p.step)).toEqual([
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
      ])
      const samples = new Float32Array(end.samples)
      expect(samples.length).toBe(2 * 28 * 28)
      expect(samples.every(Number.isFinite)).toBe(true)
      expect(ticks).toBeGreaterThanOrEqual(3)
    } finally {
      clearInterval(timer)
      frames.off()
      progress.off()
      done.off()
    }
  })

  it('sample.cancel stops a 200-step run early', async () => {
    const progress = collect('progress')
    try {
      const r = await engine.request('sample.start', {
        sampler: { sampler: 'ddim', steps: 200 },
        seed: 1,
        batch: 1,
        classLabel: 5,
      })
      if (!r.ok) throw new Error(r.error.message)
      const end = endOf(r.value.runId)
      await progress.next((p) => p.runId === r.value.runId && p.step >= 2)
      const c = await engine.request('sample.cancel', { runId: r.value.runId })
      expect(c).toEqual({ ok: true, value: { cancelled: true } })
      const result = await end
      expect(result.kind).toBe('failed')
      if (result.kind === 'failed') expect(result.p.error.code).toBe('cancelled')
      expect(progress.seen.filter((p) => p.runId === r.value.runId).length).toBeLessThan(200)
      expect(await engine.request('sample.cancel', { runId: r.value.runId })).toEqual({
        ok: true,
        value: { cancelled: false },
      })
    } finally {
      progress.off()
    }
  })

  it('fit.timesteps reports its reference and search as fit events, one fit at a time; fit.cancel keeps the best', async () => {
    const events = collect('fit')
    try {
      const request = { sampler: { sampler: 'unipc' as const, steps: 4 }, seed: 100, batch: 2, classLabel: 3 }
      const fitting = engine.request('fit.timesteps', request)
      await events.next((e) => e.phase === 'reference')
      const second = await engine.request('fit.timesteps', request)
      expect(second.ok).toBe(false)
      if (!second.ok) expect(second.error.message).toMatch(/already under way/)
      // Stopped once the search has found one schedule better than its start: it answers with that one.
      const better = await events.next((e) => e.phase === 'search' && e.evaluations > 1)
      expect(await engine.request('fit.cancel', {})).toEqual({ ok: true, value: { cancelled: true } })
      const r = await fitting
      if (!r.ok) throw new Error(r.error.message)
      expect(r.value.stopped).toBe(true)
      expect(r.value.start).toEqual([999, 749, 500, 250])
      expect(r.value.distance).toBeLessThanOrEqual(better.phase === 'search' ? better.distance : 0)
      expect(r.value.distance).toBeLessThan(r.value.startDistance)
      expect(r.value.sampler).toMatchObject({ sampler: 'unipc', timesteps: r.value.timesteps })
      const reference = events.seen.filter((e) => e.phase === 'reference')
      // A hundred reports at most of the reference's 1000 model calls, the last of them all.
      expect(reference.length).toBeLessThanOrEqual(101)
      expect(reference.at(-1)).toMatchObject({ calls: 1000, totalCalls: 1000 })
      expect(await engine.request('fit.cancel', {})).toEqual({ ok: true, value: { cancelled: false } })
      // A sampler that cannot be fitted: a clear error, and the next fit may start.
      const ddim = await engine.request('fit.timesteps', { ...request, sampler: { sampler: 'ddim', steps: 4 } })
      expect(ddim.ok).toBe(false)
      if (!ddim.ok) expect(ddim.error.message).toMatch(/ddim takes no timesteps of its own/)
    } finally {
      events.off()
    }
  }, 120_000)

  it('schedule.get returns betas and alphas_cumprod', async () => {
    const r = await engine.request('schedule.get', {
      schedule: 'linear',
      trainSteps: 1000,
      betaStart: 0.0001,
      betaEnd: 0.02,
    })
    if (!r.ok) throw new Error(r.error.message)
    expect(r.value.betas).toHaveLength(1000)
    expect(r.value.betas[0]).toBeCloseTo(0.0001, 10)
    expect(r.value.alphasCumprod[0]).toBeCloseTo(0.9999, 10)
  })

  it('a missing model is file-not-found and the worker keeps serving', async () => {
    const r = await engine.request('model.load', { path: '/nowhere/missing.onnx', providers: ['cpu'] })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error.code).toBe('file-not-found')
    const next = await engine.request('sample.start', { sampler: { steps: 2 }, seed: 0, batch: 1, classLabel: 1 })
    if (!next.ok) throw new Error(next.error.message)
    const end = await endOf(next.value.runId)
    expect(end.kind).toBe('done')
  })
})

describe('engine client', () => {
  // The stand-in worker takes any payload: the contract's checks happen in the shell, before the client.
  const ask = (client: EngineClient, channel: EngineChannel, payload: object) =>
    client.request(channel, payload as never)

  // A stand-in worker: answers sample.start with run "r1", never answers model.load, dies on sample.cancel.
  const fake = `import { parentPort } from 'node:worker_threads'
const seen = []
parentPort.on('message', (m) => {
  seen.push(m.channel)
  if (m.channel === null) parentPort.postMessage({ id: m.id, result: { ok: true, value: null } })
  if (m.channel === 'model.load' && m.payload.path) parentPort.postMessage({ id: m.id, result: { ok: true, value: m.payload } })
  if (m.channel === 'runs.list') parentPort.postMessage({ id: m.id, result: { ok: true, value: seen } })
  if (m.channel === 'sample.cancel') process.exit(3)
  if (m.channel === 'sample.start') parentPort.postMessage({ id: m.id, result: { ok: true, value: { runId: 'r1', timesteps: [], shape: {} } } })
  if (m.channel === 'schedule.get') parentPort.postMessage({ id: m.id, result: { ok: true, value: { betas: [], alphasCumprod: [] } } })
})`

  it('restarts a worker that dies, failing its in-flight requests and runs with runtime-error', async () => {
    const client = startEngine({ workerUrl: new URL(`data:text/javascript,${encodeURIComponent(fake)}`) })
    try {
      const failed: Events['failed'][] = []
      client.on('failed', (p) => failed.push(p))
      expect((await ask(client, 'sample.start', {})).ok).toBe(true)
      const inFlight = ask(client, 'model.load', {})
      const crashing = await ask(client, 'sample.cancel', { runId: 'r1' })
      expect(crashing.ok).toBe(false)
      if (!crashing.ok) expect(crashing.error.code).toBe('runtime-error')
      const lost = await inFlight
      expect(lost.ok).toBe(false)
      if (!lost.ok) expect(lost.error.message).toMatch(/stopped unexpectedly .*restarted/)
      expect(failed).toEqual([{ runId: 'r1', error: expect.objectContaining({ code: 'runtime-error' }) }])
      expect(await ask(client, 'schedule.get', {})).toEqual({ ok: true, value: { betas: [], alphasCumprod: [] } })
    } finally {
      await client.close()
    }
  })

  it('loads the last model again in a restarted worker before anything else reaches it', async () => {
    const client = startEngine({ workerUrl: new URL(`data:text/javascript,${encodeURIComponent(fake)}`) })
    try {
      expect(await ask(client, 'model.load', { path: '/models/unet.onnx' })).toEqual({
        ok: true,
        value: { path: '/models/unet.onnx' },
      })
      expect((await ask(client, 'sample.cancel', { runId: 'x' })).ok).toBe(false) // the worker dies
      // The new worker saw the model load first, then this request.
      expect(await ask(client, 'runs.list', {})).toEqual({ ok: true, value: ['model.load', 'runs.list'] })
    } finally {
      await client.close()
    }
  })
})

describe('closing the engine', () => {
  it('during a run stops the run between steps and releases the model (terminating inside session.run would abort the process)', async () => {
    const other = startEngine()
    expect((await other.request('model.load', { providers: ['cpu'] })).ok).toBe(true)
    const started = await other.request('sample.start', {
      sampler: { sampler: 'ddpm', steps: 1000 },
      seed: 1,
      batch: 4,
    })
    expect(started.ok).toBe(true)
    const failed: string[] = []
    other.on('failed', (p) => failed.push(p.error.code))
    await new Promise((resolve) => setTimeout(resolve, 300))
    await other.close()
    expect(failed).toEqual(['cancelled'])
    expect(
      await other.request('schedule.get', { schedule: 'linear', trainSteps: 10, betaStart: 0.1, betaEnd: 0.2 }),
    ).toMatchObject({ ok: false, error: { message: 'the engine has been closed' } })
  })
})

describe('the WebGPU probe through the client', () => {
  it("starts the probe's child for a worker that cannot (Electron's utility process) and uses its verdict", async () => {
    const recorded = JSON.parse(
      readFileSync(join(import.meta.dirname, '../../fixtures/webgpu-probe/swiftshader.json'), 'utf8'),
    ) as ChildOutput
    const scripts: string[] = []
    const other = startEngine({
      runProbe: async (script) => {
        scripts.push(script)
        return recorded
      },
    })
    try {
      const r = await other.request('model.load', {})
      if (!r.ok) throw new Error(r.error.message)
      expect(r.value.provider).toBe('cpu')
      const webgpu = r.value.skippedProviders.find((s) => s.provider === 'webgpu')
      // Where WebGPU cannot even be tried (no Vulkan loader) there is nothing to probe.
      const cannot = unavailableReason('webgpu')
      if (cannot) expect({ scripts, reason: webgpu?.reason }).toEqual({ scripts: [], reason: cannot })
      else {
        expect(scripts).toHaveLength(1)
        expect(scripts[0]).toContain("executionProviders: ['webgpu']")
        expect(webgpu?.reason).toMatch(/^its adapter, SwiftShader, runs on the CPU/)
      }
    } finally {
      await other.close()
    }
  })
})
