/**
 * Run by webgpu.test.ts in a child process whose environment picks the Vulkan driver (VK_ICD_FILENAMES):
 * the native runtime reads its environment once, so each driver needs a process of its own. Prints one
 * JSON line.
 *   node --import tsx webgpu-child.ts auto      the automatic provider choice on the default model
 *   node --import tsx webgpu-child.ts compare   also: WebGPU's model output against the CPU's, step by step
 */
import { defaultModelPath } from '../../../../src-main/engine/model/default-model'
import { type Denoiser, loadModel, type LoadOptions } from '../../../../src-main/engine/model/load'
import { modelFacts, planRun } from '../../../../src-main/engine/plan'
import { runSampling } from '../../../../src-main/engine/run'
import { providerLabel } from '../../../../src-shared/model'

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0)
const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0)

async function load(options: LoadOptions) {
  const model = await loadModel(defaultModelPath(), options)
  const { provider, adapter, skippedProviders } = model.info
  return { model, seen: { provider, label: providerLabel(provider, adapter), skipped: skippedProviders } }
}

/**
 * A few unguided DDIM steps on WebGPU (the predicted noise is then the model output itself), and the
 * CPU's output for the same x_t and t; then the whole run on both.
 */
async function compare(webgpu: Denoiser, cpu: Denoiser) {
  const plan = planRun(modelFacts(cpu.info), {
    seed: 7,
    batch: 1,
    classLabel: 3,
    sampler: { sampler: 'ddim', steps: 3 },
  })
  const steps: { timestep: number; sample: Float32Array; output: Float32Array }[] = []
  const started = performance.now()
  const onGpu = await runSampling(webgpu, plan.run, {
    onStep: (f) => steps.push({ timestep: f.timestep, sample: f.sample.slice(), output: f.predictedNoise.slice() }),
  })
  const seconds = (performance.now() - started) / 1000
  const stepDiffs = [],
    stepScales = []
  for (const s of steps) {
    const expected = await cpu.predict(s.sample, plan.shape, s.timestep, [plan.run.classLabel!])
    stepDiffs.push(maxDiff(s.output, expected))
    stepScales.push(maxAbs(expected))
  }
  const onCpu = await runSampling(cpu, plan.run)
  const samplesDiff = maxDiff(onGpu.samples, onCpu.samples)
  return { timesteps: steps.map((s) => s.timestep), stepDiffs, stepScales, samplesDiff, seconds }
}

const mode = process.argv[2]
const auto = await load({})
const out: Record<string, unknown> = { auto: auto.seen }
await auto.model.release()
if (mode === 'compare') {
  const webgpu = await load({ providers: ['webgpu'] })
  const cpu = await load({ providers: ['cpu'] })
  out.webgpu = webgpu.seen
  Object.assign(out, await compare(webgpu.model, cpu.model))
  await webgpu.model.release()
  await cpu.model.release()
}
process.stdout.write(JSON.stringify(out) + '\n')
