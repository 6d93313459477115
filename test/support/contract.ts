/** Every field the contract's single result carries (`/api/predict`; `secureflow score --json` prints the same). */
export const PREDICT_FIELDS = [
  'transaction_id',
  'is_anomaly',
  'is_fraudulent',
  'anomaly_score',
  'risk_score',
  'risk_level',
  'confidence',
  'shap_explanation',
  'risk_factors',
  'data_source',
  'model_version',
  'timestamp',
] as const;
