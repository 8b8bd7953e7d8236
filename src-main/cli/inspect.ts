/**
 * What the command line says of a model: `inspect` (its source, the facts read, inferred and assumed, its
 * inputs, training and provider), and the notes `sample` prints of what was assumed.
 */
import { FACT_ORIGINS, providerLabel, type SourceFact, sourceLabel } from '../../src-shared/model'
import { usesBetaRange } from '../../src-shared/names'
import type { GenerationRequest, ScheduleConfig } from '../../src-shared/parameters'
import { defaultModelPath } from '../engine/model/default-model'
import { loadModel, type ModelInfo } from '../engine/model/load'
import { defaultProviderOrder, skipReason } from '../engine/model/providers'
import { channelsOf, describedSchedule, type Training, trainingOf } from '../engine/model/training'
import { loadOptionsFrom, print, type Values } from './options'

export async function inspectCommand(v: Values, positionals: string[]) {
  const path = positionals[0] ?? v.model ?? defaultModelPath()
  const model = await loadModel(path, loadOptionsFrom(v))
  try {
    const t = trainingOf(model.info)
    // What the automatic order would do with each provider here.
    const providers = await Promise.all(
      defaultProviderOrder().map(async (p) => {
        const reason = await skipReason(p, false)
        return { provider: p, available: !reason, reason }
      }),
    )
    const out = {
      ...model.info,
      training: t,
      metadataOrigin: model.info.metadata.origin,
      providersAvailable: providers,
    }
    if (v.json) return print(out)
    const s = model.info.signature
    const src = model.info.source
    const sig = (x: { name: string; dtype: string; shape: unknown[] }) => `${x.name} ${x.dtype} [${x.shape.join(', ')}]`
    print(
      [
        `${model.info.name}  (${model.info.layout}: ${model.info.onnxPath || model.info.path})`,
        `  source          ${sourceLabel(src)}${src.parameters !== undefined ? `, ${src.parameters.toLocaleString('en-US')} parameters` : ''}${src.graph ? `, graph ${src.graph}` : ''}`,
        ...src.files.map((f) => `    read ${f}`),
        model.info.hash ? `  model hash      ${model.info.hash}  (SHA-256 of ${src.files[0]}, as A1111 writes it)` : '',
        ...sourceFacts(src.facts),
        ...src.notes.map((n) => `  note            ${n}`),
        `  image input     ${sig(s.image)}${s.channels === undefined ? `  (channels: ${channelsOf(model.info) ?? 'open'}${channelsOf(model.info) !== undefined ? ' from in_channels' : ''})` : ''}`,
        `  timestep input  ${sig(s.timestep)}`,
        s.classLabels
          ? `  class input     ${sig(s.classLabels)}  classes: ${t.classes?.names.join(' ')}  null class: ${t.classes?.nullClassId ?? 'none'}`
          : '  class input     none',
        `  output          ${sig(s.output)}${s.learnedVariance ? '  (learned variance: first half used)' : ''}`,
        `  size            ${t.size.width}x${t.size.height} (from ${t.size.from}${s.sizeMultiple ? `; any multiple of ${s.sizeMultiple}` : ''})`,
        `  training        ${describedSchedule(model.info, t) ?? scheduleText(t.schedule)}, ${t.sampler.predictionType}`,
        t.guidance
          ? `  guidance        ${t.guidance.scale}, rescale ${t.guidance.rescale}, APG eta ${t.guidance.apgEta}  (the model's own: sample takes them for flags left out)`
          : '',
        `  from            ${
          Object.entries(model.info.metadata.origin)
            .map(([k, o]) => `${k}: ${o}`)
            .join(', ') || 'nothing'
        }`,
        t.assumed.length ? `  assumed         ${t.assumed.join(', ')} (no source gave them; defaults used)` : '',
        `  provider        ${providerLabel(model.info.provider, model.info.adapter)}${model.info.skippedProviders.map((p) => `\n    skipped ${p.provider}: ${p.reason}`).join('')}`,
      ]
        .filter(Boolean)
        .join('\n'),
    )
  } finally {
    await model.release()
  }
}

/**
 * The network's facts by origin (its config, checkpoint buffers, its weights, its library's sampler, or
 * assumed): plain ones on the origin's line, those with a reason one a line with it.
 */
function sourceFacts(facts: SourceFact[]): string[] {
  const lines: string[] = []
  for (const [origin, label] of Object.entries(FACT_ORIGINS)) {
    const these = facts.filter((f) => f.from === origin)
    if (!these.length) continue
    const plain = these.filter((f) => !f.why).map((f) => `${f.key}=${f.value}`)
    lines.push(`  ${label.padEnd(15)} ${plain.join(', ')}`.trimEnd())
    for (const f of these.filter((f) => f.why)) lines.push(`    ${f.key}=${f.value}  (${f.why})`)
  }
  return lines
}

const scheduleText = (s: ScheduleConfig) =>
  `${s.schedule}, T=${s.trainSteps}${usesBetaRange(s.schedule) ? `, beta ${s.betaStart}..${s.betaEnd}` : ''}`

/**
 * What `sample` says of the model (on stderr, or in its --json): what no source gave and was assumed (the schedule, the
 * size), and what the model's files held that Stepwise ignored.
 */
export function modelNotes(info: ModelInfo, t: Training, request: GenerationRequest): string[] {
  const notes = [...info.source.notes]
  if (t.assumed.length)
    notes.push(
      `${info.name}: no source gives ${t.assumed.join(', ')}; assumed ${scheduleText(t.schedule)}, ${t.sampler.predictionType} (give them in a sidecar .json)`,
    )
  if (t.size.from === 'smallest' && request.height === undefined && request.width === undefined)
    notes.push(
      `${info.name}: no source gives the image size; assumed ${t.size.width}x${t.size.height} (--height, --width${info.signature.sizeMultiple ? `: any multiple of ${info.signature.sizeMultiple}` : ''})`,
    )
  return notes
}
