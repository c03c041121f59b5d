SELECT
  "t3"."period",
  "t3"."center",
  CAST(COALESCE("t3"."m__abandoned", 0) AS DOUBLE) / NULLIF(CAST(COALESCE("t3"."m__answered_plus_abandoned", 0) AS DOUBLE), 0) AS "abandon_rate",
  COALESCE("t3"."m__offered", 0) AS "contacts_offered"
FROM (
  SELECT
    "t2"."period",
    "t2"."center",
    COUNT(*) FILTER(WHERE
      "t2"."_c0") AS "m__abandoned",
    COUNT(*) FILTER(WHERE
      "t2"."_c1") AS "m__answered_plus_abandoned",
    COUNT(*) FILTER(WHERE
      "t2"."_c2") AS "m__offered"
  FROM (
    SELECT
      CAST(DATE_TRUNC('WEEK', TIMEZONE('Asia/Shanghai', "t1"."offered_at")) AS DATE) AS "period",
      "t1"."center",
      (
        "t1"."direction" = 'inbound'
      )
      AND (
        "t1"."outcome" = 'abandoned'
      )
      AND (
        COALESCE("t1"."wait_s", 0) >= 0.0
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
      ) AS "_c1",
      (
        "t1"."direction" = 'inbound'
      )
      AND (
        "t1"."outcome" <> 'self_served'
      )
      AND NOT (
        (
          "t1"."outcome" = 'abandoned'
        ) AND (
          COALESCE("t1"."wait_s", 0) < 0.0
        )
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
        AND COALESCE("t0"."queue" IN ('a', 'b'), FALSE)
    ) AS "t1"
  ) AS "t2"
  GROUP BY
    1,
    2
) AS "t3"
ORDER BY
  "t3"."period" ASC,
  "t3"."center" ASC
