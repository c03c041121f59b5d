"""Quality inspection that is statistically sound (issue 14): evaluation forms, sampling plans, agreement
statistics, empirical-Bayes rankings, coaching and recognition, exemption, evaluator calibration and drift, and
text QA of transcripts. See ``docs/quality.md``."""
