/**
 * The diffusion terms the screen shows, each with its one-line meaning: the tooltips of
 * components/Term.svelte, one home for every label and explanation.
 */
export const TERMS = {
  xt: {
    label: 'x_t',
    meaning: 'x_t: the noisy sample entering this step (pure noise at the start, the image at the end)',
  },
  x0: {
    label: 'x̂0',
    meaning: "x̂0 (predicted x0): the model's guess of the clean image from x_t at this step",
  },
  eps: { label: 'ε̂', meaning: 'ε̂ (predicted noise): the noise the model thinks is in x_t; about unit Gaussian' },
  eta: {
    label: 'η',
    meaning: 'η (eta): DDIM\u2019s randomness; 0 is deterministic, 1 adds as much fresh noise as DDPM',
  },
  alphaBar: {
    label: 'ᾱ_t',
    meaning: 'ᾱ_t (alpha-bar): the share of the signal left in x_t at timestep t; 1 is clean, 0 is pure noise',
  },
  snr: { label: 'SNR', meaning: 'SNR: signal-to-noise ratio ᾱ_t / (1 − ᾱ_t); how much image there is against noise' },
  guidance: {
    label: 'guidance',
    meaning: 'guidance (classifier-free): how hard the sample is pushed towards the class; 1 is plain conditional',
  },
  guidanceRescale: {
    label: 'Rescale',
    meaning:
      'guidance rescale φ (diffusers\u2019 guidance_rescale): brings the guided model output back toward the spread of the conditional one, against over-saturated images at high guidance; 0 is off',
  },
  apg: {
    label: 'APG η',
    meaning:
      'APG η (adaptive projected guidance): how much of the guidance update along the conditional output is kept; that part mostly saturates. 1 is plain guidance, 0 is APG\u2019s own (and lucidrains\u2019 classifier-free guidance default)',
  },
  apgMomentum: {
    label: 'APG β',
    meaning:
      'APG momentum (diffusers\u2019 adaptive_projected_guidance_momentum): each step guides with a running sum of the updates, the new one plus β times the sum so far; negative (the paper\u2019s −0.5) works against the last steps\u2019 push. 0 is none',
  },
  apgNormThreshold: {
    label: 'APG limit',
    meaning:
      'APG norm threshold (diffusers\u2019 adaptive_projected_guidance_rescale): the guidance update\u2019s largest norm, image by image; 0 is no limit',
  },
  variation: {
    label: 'Variation',
    meaning:
      'variation strength (A1111’s variation seed): how far each image’s starting noise moves from the seed’s toward its variation seed’s; small values give images near the seed’s own, 0 is off',
  },
  t: { label: 't', meaning: 't: the timestep of the training schedule this step denoises (T − 1 is noise, 0 clean)' },
} as const

export type TermName = keyof typeof TERMS
