/** One entry point over the three featurizer kinds. */
import type { FeatureMatrix } from './feature-matrix';
import { fitImageFeaturizer, transformImages, type ImageFeaturizer, type ImageInput } from './image';
import { fitTextFeaturizer, transformText, type HashedText, type TextFeaturizer } from './text';
import { fitVectorFeaturizer, transformVectors, type NumericVector, type VectorFeaturizer } from './vector';

export type Featurizer = TextFeaturizer | VectorFeaturizer | ImageFeaturizer;
export type FeaturizerKind = Featurizer['kind'];

/** The raw input each featurizer kind accepts for one item. */
export type ItemInput = HashedText | NumericVector | ImageInput;

export type FitFeaturizerRequest =
  | { kind: 'text'; items: readonly HashedText[]; minDf?: number }
  | { kind: 'vector'; items: readonly NumericVector[] }
  | { kind: 'image'; items: readonly ImageInput[]; size?: number };

export function fitFeaturizer(request: FitFeaturizerRequest): Featurizer {
  switch (request.kind) {
    case 'text':
      return fitTextFeaturizer(request.items, { minDf: request.minDf });
    case 'vector':
      return fitVectorFeaturizer(request.items);
    case 'image':
      return fitImageFeaturizer(request.items, { size: request.size });
  }
}

/** Applies a fitted featurizer; `items` must be of the featurizer's kind. */
export function featurize(featurizer: Featurizer, items: readonly ItemInput[]): FeatureMatrix {
  switch (featurizer.kind) {
    case 'text':
      return transformText(featurizer, items as readonly HashedText[]);
    case 'vector':
      return transformVectors(featurizer, items as readonly NumericVector[]);
    case 'image':
      return transformImages(featurizer, items as readonly ImageInput[]);
  }
}
