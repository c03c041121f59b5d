SELECT
  "t5"."period",
  CAST(COALESCE("t5"."m__repeated", 0) AS DOUBLE) / NULLIF(CAST(COALESCE("t5"."m__repeat_eligible", 0) AS DOUBLE), 0) AS "repeat_rate",
  CAST(COALESCE("t5"."m__first_contact_resolved", 0) AS DOUBLE) / NULLIF(CAST(COALESCE("t5"."m__fcr_eligible", 0) AS DOUBLE), 0) AS "fcr_rate"
FROM (
  SELECT
    "t4"."period",
    COUNT(*) FILTER(WHERE
      "t4"."_c0") AS "m__repeated",
    COUNT(*) FILTER(WHERE
      "t4"."_c1") AS "m__repeat_eligible",
    COUNT(*) FILTER(WHERE
      "t4"."_c2") AS "m__first_contact_resolved",
    COUNT(*) FILTER(WHERE
      "t4"."_c3") AS "m__fcr_eligible"
  FROM (
    SELECT
      CAST(DATE_TRUNC('QUARTER', TIMEZONE('Asia/Shanghai', "t3"."offered_at")) AS DATE) AS "period",
      (
        "t3"."direction" = 'inbound'
      ) AND (
        "t3"."repeated" = TRUE
      ) AS "_c0",
      (
        "t3"."direction" = 'inbound'
      ) AND NOT (
        "t3"."repeated" IS NULL
      ) AS "_c1",
      (
        "t3"."direction" = 'inbound'
      )
      AND NOT (
        "t3"."answered_at" IS NULL
      )
      AND COALESCE("t3"."resolved", TRUE)
      AND (
        "t3"."repeated" = FALSE
      ) AS "_c2",
      (
        "t3"."direction" = 'inbound'
      )
      AND NOT (
        "t3"."answered_at" IS NULL
      )
      AND NOT (
        "t3"."repeated" IS NULL
      ) AS "_c3"
    FROM (
      SELECT
        *
      FROM (
        SELECT
          "t1"."tenant_id",
          "t1"."load_id",
          "t1"."contact_id",
          "t1"."center",
          "t1"."queue",
          "t1"."channel",
          "t1"."direction",
          "t1"."customer_id",
          "t1"."business_type",
          "t1"."offered_at",
          "t1"."answered_at",
          "t1"."ended_at",
          "t1"."ivr_s",
          "t1"."wait_s",
          "t1"."talk_s",
          "t1"."hold_s",
          "t1"."acw_s",
          "t1"."outcome",
          "t1"."agent_id",
          "t1"."transfers",
          "t1"."resolved",
          "t1"."csat",
          "t1"."nps",
          "t1"."offer_id",
          "t1"."offer_result",
          "t1"."revenue",
          "t1"."_row_hash",
          CASE
            WHEN "t1"."customer_id" IS NULL
            THEN CAST(NULL AS BOOLEAN)
            WHEN LEAD("t1"."offered_at") OVER (
              PARTITION BY "t1"."customer_id"
              ORDER BY "t1"."offered_at" ASC, "t1"."contact_id" ASC
              ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
            ) IS NULL
            THEN FALSE
            ELSE (
              EPOCH(
                LEAD("t1"."offered_at") OVER (
                  PARTITION BY "t1"."customer_id"
                  ORDER BY "t1"."offered_at" ASC, "t1"."contact_id" ASC
                  ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
                )
              ) - EPOCH("t1"."offered_at")
            ) <= 604800.0
          END AS "repeated"
        FROM (
          SELECT
            *
          FROM "contacts" AS "t0"
          WHERE
            "t0"."tenant_id" = 'snap'
        ) AS "t1"
      ) AS "t2"
      WHERE
        "t2"."offered_at" >= MAKE_TIMESTAMPTZ(2026, 1, 1, 0, 0, 0.0, 'Asia/Shanghai')
        AND "t2"."offered_at" < MAKE_TIMESTAMPTZ(2026, 4, 1, 0, 0, 0.0, 'Asia/Shanghai')
        AND "t2"."offered_at" IS NOT NULL
    ) AS "t3"
  ) AS "t4"
  GROUP BY
    1
) AS "t5"
ORDER BY
  "t5"."period" ASC
