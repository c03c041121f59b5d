SELECT
  "t3"."period",
  "t3"."queue",
  COALESCE("t3"."m__handle_s__voice", 0) / NULLIF(CAST(COALESCE("t3"."m__handled__voice", 0) AS DOUBLE), 0) AS "aht_s__voice"
FROM (
  SELECT
    "t2"."period",
    "t2"."queue",
    SUM("t2"."_v0") FILTER(WHERE
      "t2"."_c0") AS "m__handle_s__voice",
    COUNT(*) FILTER(WHERE
      "t2"."_c0") AS "m__handled__voice"
  FROM (
    SELECT
      TO_TIMESTAMP(
        CAST(FLOOR(
          (
            EPOCH(CAST(TIMEZONE('Asia/Shanghai', "t1"."offered_at") AS TIMESTAMP))
          ) / (
            900
          )
        ) AS BIGINT) * 900
      ) AS "period",
      "t1"."queue",
      NOT (
        "t1"."answered_at" IS NULL
      ) AND (
        "t1"."channel" = 'voice'
      ) AS "_c0",
      COALESCE("t1"."talk_s", 0) + COALESCE("t1"."hold_s", 0) + COALESCE("t1"."acw_s", 0) AS "_v0"
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
  "t3"."queue" ASC
