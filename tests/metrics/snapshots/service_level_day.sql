SELECT
  "t3"."period",
  CAST(COALESCE("t3"."m__answered_within_t", 0) AS DOUBLE) / NULLIF(CAST(COALESCE("t3"."m__answered_plus_abandoned", 0) AS DOUBLE), 0) AS "service_level"
FROM (
  SELECT
    "t2"."period",
    COUNT(*) FILTER(WHERE
      "t2"."_c0") AS "m__answered_within_t",
    COUNT(*) FILTER(WHERE
      "t2"."_c1") AS "m__answered_plus_abandoned"
  FROM (
    SELECT
      CAST(TIMEZONE('Asia/Shanghai', "t1"."offered_at") AS DATE) AS "period",
      (
        "t1"."direction" = 'inbound'
      )
      AND NOT (
        "t1"."answered_at" IS NULL
      )
      AND (
        COALESCE("t1"."wait_s", 0) <= 20.0
      ) AS "_c0",
      (
        "t1"."direction" = 'inbound'
      )
      AND (
        NOT (
          "t1"."answered_at" IS NULL
        )
        OR (
          (
            "t1"."outcome" = 'abandoned'
          ) AND (
            COALESCE("t1"."wait_s", 0) >= 0.0
          )
        )
      ) AS "_c1"
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
    1
) AS "t3"
ORDER BY
  "t3"."period" ASC
