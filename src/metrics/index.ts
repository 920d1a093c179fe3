/** Classification metrics with scikit-learn's definitions (docs/metrics.md). */
export { ConfusionMatrix } from './confusion.js';
export {
  accuracy,
  precision,
  recall,
  f1,
  support,
  macro,
  weighted,
  classificationReport,
  type Averages,
  type ReportRow,
  type ClassificationReport,
  type CM,
} from './classification.js';
export { TopKAccuracy } from './topk.js';
export { precisionRecallCurve, thresholdForPrecision, thresholdForRecall, type PRCurve, type OperatingPoint } from './pr_curve.js';
export type { Labels, Scores } from './inputs.js';
export {
  argmax,
  formatPrediction,
  formatPredictions,
  writePredictions,
  parsePredictions,
  readPredictions,
  type PredictionRecord,
  type PredictionsFile,
} from './predictions.js';
export {
  worstMistakes,
  confusedPairs,
  operatingPoint,
  formatConfusionMatrix,
  scorePredictions,
  type Mistake,
  type ConfusedPair,
  type ClassOperatingPoint,
  type ScoreOptions,
  type EvaluationScores,
} from './analysis.js';
export { htmlReport, type HtmlReportInput } from './html.js';
export { formatAudit, auditHtml, auditThumbnails, FINDING_TITLES } from './audit-report.js';
