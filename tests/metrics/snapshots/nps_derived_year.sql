SELECT
  "t3"."period",
  "t3"."channel",
  (
    100 * (
      CAST(COALESCE("t3"."m__nps_promoters", 0) AS DOUBLE) - CAST(COALESCE("t3"."m__nps_detractors", 0) AS DOUBLE)
    )
  ) / NULLIF(CAST(COALESCE("t3"."m__nps_responses", 0) AS DOUBLE), 0) AS "nps"
FROM (
  SELECT
    "t2"."period",
    "t2"."channel",
    COUNT(*) FILTER(WHERE
      "t2"."_c0") AS "m__nps_promoters",
    COUNT(*) FILTER(WHERE
      "t2"."_c1") AS "m__nps_detractors",
    COUNT(*) FILTER(WHERE
      "t2"."_c2") AS "m__nps_responses"
  FROM (
    SELECT
      CAST(DATE_TRUNC('YEAR', TIMEZONE('Asia/Shanghai', "t1"."offered_at")) AS DATE) AS "period",
      "t1"."channel",
      "t1"."nps" >= 9 AS "_c0",
      "t1"."nps" <= 6 AS "_c1",
      NOT (
        "t1"."nps" IS NULL
      ) AS "_c2"
    FROM (
      SELECT
        *
      FROM "contacts" AS "t0"
      WHERE
        "t0"."tenant_id" = 'snap'
        AND "t0"."offered_at" >= MAKE_TIMESTAMPTZ(2026, 1, 1, 0, 0, 0.0, 'Asia/Shanghai')
        AND "t0"."offered_at" < MAKE_TIMESTAMPTZ(2026, 4, 1, 0, 0, 0.0, 'Asia/Shanghai')
        AND "t0"."offered_at" IS NOT NULL
    ) AS "t1"
  ) AS "t2"
  GROUP BY
    1,
    2
) AS "t3"
ORDER BY
  "t3"."period" ASC,
  "t3"."channel" ASC
