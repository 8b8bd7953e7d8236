/** The vocabulary's texts about a generation: the PNG's parameters line and labels for runs side by side. */
import { describe, expect, it } from 'vitest'

import { makeSampler } from '../../../src-main/engine/samplers/sampler'
import { makeSchedule } from '../../../src-main/engine/schedule'
import { optionSpec, samplerReads } from '../../../src-shared/names'
import {
  compareLabels,
  configOf,
  DEFAULT_SAMPLER,
  DEFAULT_SCHEDULE,
  type GenerationParameters,
  samplerProblem,
  type SamplerSettings,
  summarize,
} from '../../../src-shared/parameters'
import { npy, pipelineLoop } from '../../fixtures/samplers/reference'

type Over = Omit<Partial<GenerationParameters>, 'sampler' | 'schedule'> & { sampler?: object; schedule?: object }
const p = (o: Over = {}): GenerationParameters => ({
  model: 'digits',
  seed: 7,
  height: 28,
  width: 28,
  ...o,
  sampler: { ...DEFAULT_SAMPLER, ...o.sampler },
  schedule: { ...DEFAULT_SCHEDULE, ...o.schedule },
})

describe('compareLabels', () => {
  it('say sampler and steps, then only what differs', () => {
    expect(compareLabels([p(), p({ sampler: { sampler: 'ddpm', steps: 1000 } })])).toEqual(['DDIM 50', 'DDPM 1000'])
    expect(compareLabels([p(), p({ sampler: { eta: 1 } })])).toEqual(['DDIM 50 eta 0', 'DDIM 50 eta 1'])
    // DDPM reads no eta: a DDIM at eta 0.5 is stochastic, so it says so; the DDPM's eta is nobody's business.
    expect(
      compareLabels([p({ sampler: { eta: 0.5 } }), p({ sampler: { sampler: 'ddpm', steps: 50, eta: 0.5 } })]),
    ).toEqual(['DDIM 50 eta 0.5', 'DDPM 50'])
    expect(compareLabels([p({ guidance: 3 }), p({ schedule: { schedule: 'cosine' }, guidance: 5 })])).toEqual([
      'DDIM 50 linear g 3',
      'DDIM 50 cosine g 5',
    ])
    expect(compareLabels([p(), p({ sampler: { timestepSpacing: 'trailing' } })])).toEqual([
      'DDIM 50 leading',
      'DDIM 50 trailing',
    ])
  })

  it('say how guidance is projected where it differs: APG η and its momentum β', () => {
    const apg = { eta: 0, normThreshold: 0 }
    const runs = [p({ guidance: 6 }), p({ guidance: 6, apg }), p({ guidance: 6, apg: { ...apg, momentum: -0.5 } })]
    expect(compareLabels(runs)).toEqual(['DDIM 50', 'DDIM 50 APG η 0', 'DDIM 50 APG η 0 β -0.5'])
    expect(summarize(runs[2])).toContain('guidance: 6, apg eta: 0, apg norm threshold: 0, apg momentum: -0.5')
    expect(summarize(runs[1])).not.toContain('momentum')
  })

  it('say which runs have timesteps of their own, and the PNG line lists them', () => {
    const unipc = configOf('unipc', { steps: 4 })
    const own = { ...unipc, timesteps: [999, 600, 250, 40] }
    expect(compareLabels([p({ sampler: unipc }), p({ sampler: own })])).toEqual([
      'UniPC 4 linspace',
      'UniPC 4 own timesteps',
    ])
    expect(summarize(p({ sampler: own }))).toContain('steps: 4, schedule: linear (T=1000), timesteps: 999 600 250 40,')
    expect(summarize(p({ sampler: unipc }))).toContain('spacing: linspace')
    // The app warns before Generate where the engine (and diffusers) would refuse them.
    expect(samplerProblem({ ...own, sigmas: 'karras' })).toMatch(/refuses them with karras sigmas/)
    expect(samplerProblem(own)).toBeUndefined()
  })

  it('one run alone names its schedule (a grid row says what it is)', () => {
    expect(compareLabels([p()])).toEqual(['DDIM 50 linear'])
  })
})

describe('summarize', () => {
  it("names the sampler as PNG-info readers do, eta only where the sampler reads it, and a fork's parent", () => {
    const ddim = summarize(p({ sampler: { eta: 0.2 }, classLabel: 3, guidance: 2 }))
    expect(ddim).toBe(
      'model: digits, sampler: DDIM, steps: 50, schedule: linear (T=1000), spacing: leading, prediction: epsilon, ' +
        'eta: 0.2, seed: 7, size: 28x28, class: 3, guidance: 2',
    )
    const fork = summarize(p({ sampler: { sampler: 'ddpm', steps: 20 }, forkedFrom: { step: 4, parameters: p() } }))
    expect(fork).not.toContain('eta')
    expect(fork).toContain('sampler: DDPM, steps: 20')
    expect(fork).toContain('forked at step 4 from: DDIM 50 steps')
    expect(summarize(p({ fromImageAt: 350 }))).toContain('from an image at t=350')
  })

  it('names the model hash after the model, where the run has one', () => {
    expect(summarize(p({ modelHash: '6ce0161689' }))).toMatch(/^model: digits, model hash: 6ce0161689, sampler: DDIM,/)
    expect(summarize(p())).not.toContain('hash')
  })
})

describe('sampler names with their sigma schedule', () => {
  it('as A1111 writes them in the PNG line, and in labels side by side', () => {
    const dpm = { ...configOf('dpmpp-2m', { steps: 10 }), sigmas: 'karras' as const }
    expect(summarize(p({ sampler: dpm }))).toContain('sampler: DPM++ 2M Karras, steps: 10')
    expect(summarize(p({ sampler: configOf('euler', {}) }))).toContain('sampler: Euler, steps: 30')
    expect(compareLabels([p({ sampler: dpm }), p({ sampler: { ...dpm, sigmas: 'exponential' } })])).toEqual([
      'DPM++ 2M Karras 10',
      'DPM++ 2M Exponential 10',
    ])
  })

  it("Euler a, DPM2, LMS and PNDM under A1111's names; PNDM without its warm-up is A1111's PLMS", () => {
    const name = (sampler: Parameters<typeof configOf>[0], over = {}) =>
      /sampler: ([^,]*),/.exec(summarize(p({ sampler: { ...configOf(sampler, {}), ...over } })))![1]
    expect(name('euler-a')).toBe('Euler a')
    expect(name('dpm2', { sigmas: 'karras' })).toBe('DPM2 Karras')
    expect(name('lms', { sigmas: 'karras' })).toBe('LMS Karras')
    expect(name('pndm')).toBe('PNDM')
    expect(name('pndm', { skipPrkSteps: true })).toBe('PLMS')
    expect(compareLabels([p({ sampler: configOf('pndm', { skipPrkSteps: true }) }), p()])).toEqual([
      'PLMS 50',
      'DDIM 50',
    ])
  })
})

describe('samplerProblem', () => {
  it('warns exactly where diffusers itself ends in NaN (our DPM-Solver++ does too)', () => {
    const schedule = makeSchedule(DEFAULT_SCHEDULE)
    const nan = (s: SamplerSettings & { sampler: 'dpmpp-2m' }) => {
      const final = pipelineLoop(makeSampler(configOf('dpmpp-2m', s), schedule), npy('x_T.npy').data, 3)
      return final.some(Number.isNaN)
    }
    const heun = { sampler: 'dpmpp-2m' as const, solverType: 'heun' as const, finalSigmas: 'sigma_min' as const }
    const cases: (SamplerSettings & { sampler: 'dpmpp-2m' })[] = [
      { ...heun, steps: 15, sigmas: 'karras' },
      { ...heun, steps: 20, sigmas: 'beta' },
      { ...heun, steps: 8, sigmas: 'exponential', lowerOrderFinal: false },
      { ...heun, steps: 14, sigmas: 'karras' },
      { ...heun, steps: 20, sigmas: 'spacing' },
      { ...heun, steps: 20, sigmas: 'karras', finalSigmas: 'zero' },
      { ...heun, steps: 20, sigmas: 'karras', solverType: 'midpoint' },
      { ...heun, steps: 20, sigmas: 'karras', solverOrder: 1 },
    ]
    for (const c of cases) expect([c, samplerProblem(c) !== undefined]).toEqual([c, nan(c)])
    expect(cases.filter((c) => samplerProblem(c)).length).toBe(3)
    expect(samplerProblem({ sampler: 'ddim' })).toBeUndefined()
  })

  it("warns exactly where PNDM's Runge-Kutta warm-up has too few steps (diffusers fails, our planner refuses)", () => {
    const schedule = makeSchedule(DEFAULT_SCHEDULE)
    for (const steps of [1, 3, 4, 10]) {
      for (const skipPrkSteps of [false, true]) {
        const settings = { sampler: 'pndm' as const, steps, skipPrkSteps }
        const refused = (() => {
          try {
            makeSampler(configOf('pndm', settings), schedule)
            return false
          } catch {
            return true
          }
        })()
        expect([settings, samplerProblem(settings) !== undefined]).toEqual([settings, refused])
      }
    }
    expect(samplerProblem({ sampler: 'pndm', steps: 3 })).toMatch(/PNDM's Runge-Kutta warm-up needs 4 steps/)
  })

  it('warns exactly where our DPM-Solver family ends in NaN or infinities, across solvers, orders and options', () => {
    // Every sampler here matches diffusers call by call, NaN included (test/unit/engine/samplers/), so
    // where ours breaks diffusers' does too (UniPC order 3 at a final sigma 0: diffusers raises instead).
    const schedule = makeSchedule(DEFAULT_SCHEDULE)
    const noise = () => new Float32Array(6)
    let warned = 0
    for (const sampler of ['dpmpp-2m', 'dpmpp-3m', 'dpmpp-2m-sde', 'dpmpp-2s', 'unipc', 'deis'] as const) {
      const spec = (o: 'solverType' | 'finalSigmas' | 'predictX0') =>
        samplerReads(sampler, o) ? optionSpec(sampler, o) : undefined
      const types = (spec('solverType') as { values?: readonly string[] } | undefined)?.values ?? [undefined]
      const finals = spec('finalSigmas') ? (['zero', 'sigma_min'] as const) : [undefined]
      const x0s = spec('predictX0') ? [true, false] : [undefined]
      for (const solverType of types)
        for (const finalSigmas of finals)
          for (const predictX0 of x0s)
            for (const solverOrder of [1, 2, 3].filter(
              (o) => o <= (optionSpec(sampler, 'solverOrder') as { max: number }).max,
            ))
              for (const sigmas of ['spacing', 'karras'] as const)
                for (const lowerOrderFinal of [true, false])
                  for (const steps of [8, 16]) {
                    const settings = {
                      sampler,
                      steps,
                      solverType,
                      finalSigmas,
                      predictX0,
                      solverOrder,
                      sigmas,
                      lowerOrderFinal,
                    } as SamplerSettings & { sampler: typeof sampler }
                    const final = pipelineLoop(
                      makeSampler(configOf(sampler, settings), schedule),
                      npy('x_T.npy').data,
                      3,
                      undefined,
                      noise,
                    )
                    const problem = samplerProblem(settings)
                    expect([settings, problem !== undefined]).toEqual([settings, !final.every(Number.isFinite)])
                    if (problem) warned++
                  }
    }
    expect(warned).toBeGreaterThan(20)
  })

  it('warns exactly where a multistep solver with a step per training timestep repeats one and ends in NaN', () => {
    const schedule = makeSchedule(DEFAULT_SCHEDULE)
    let warned = 0
    for (const sampler of [
      'dpmpp-2m',
      'dpmpp-3m',
      'dpmpp-2m-sde',
      'dpmpp-2s',
      'unipc',
      'deis',
      'euler',
      'ddim',
    ] as const) {
      const max = samplerReads(sampler, 'solverOrder') ? (optionSpec(sampler, 'solverOrder') as { max: number }).max : 1
      for (let solverOrder = 1; solverOrder <= max; solverOrder++)
        for (const timestepSpacing of ['linspace', 'leading', 'trailing'] as const)
          for (const steps of [999, 1000]) {
            const settings = { sampler, steps, timestepSpacing, solverOrder } as SamplerSettings & {
              sampler: typeof sampler
            }
            const final = pipelineLoop(
              makeSampler(configOf(sampler, settings), schedule),
              npy('x_T.npy').data,
              3,
              undefined,
              () => new Float32Array(6),
            )
            const problem = samplerProblem(settings, 'linear', 1000)
            expect([settings, problem !== undefined]).toEqual([settings, !final.every(Number.isFinite)])
            if (problem) warned++
          }
    }
    expect(warned).toBe(19)
    expect(samplerProblem({ sampler: 'unipc', steps: 1000, timestepSpacing: 'linspace' })).toMatch(
      /two of its timesteps are one.*take 999 steps or trailing spacing/,
    )
    // A model with fewer training timesteps breaks at its own count.
    expect(samplerProblem({ sampler: 'deis', steps: 100, timestepSpacing: 'leading' }, 'linear', 100)).toMatch(
      /its timesteps are all 0/,
    )
    expect(samplerProblem({ sampler: 'deis', steps: 100, timestepSpacing: 'leading' }, 'linear', 1000)).toBeUndefined()
  })

  it("warns where diffusers' rounded cosine Karras timesteps repeat", () => {
    for (const sampler of ['unipc', 'deis', 'dpmpp-2s'] as const) {
      expect(samplerProblem({ sampler, sigmas: 'karras' }, 'cosine')).toMatch(/the first ones repeat/)
      expect(samplerProblem({ sampler, sigmas: 'karras' }, 'linear')).toBeUndefined()
    }
    expect(samplerProblem({ sampler: 'dpmpp-2m', sigmas: 'karras' }, 'cosine')).toBeUndefined()
  })
})
