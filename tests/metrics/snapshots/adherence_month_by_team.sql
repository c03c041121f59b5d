WITH "t5" AS (
  SELECT
    "t2"."agent_id" AS "_roster_agent",
    "t2"."team",
    "t2"."center"
  FROM "agents" AS "t2"
  WHERE
    "t2"."tenant_id" = 'snap'
)
SELECT
  "t35"."period",
  "t35"."team",
  COALESCE("t35"."m__adherent_s", 0) / NULLIF(COALESCE("t35"."m__scheduled_s", 0), 0) AS "adherence",
  COALESCE("t35"."m__state_handling_s", 0) / NULLIF(COALESCE("t35"."m__state_staffed_s", 0), 0) AS "occupancy"
FROM (
  SELECT
    "t34"."period",
    "t34"."team",
    MAX("t34"."m__adherent_s") AS "m__adherent_s",
    MAX("t34"."m__scheduled_s") AS "m__scheduled_s",
    MAX("t34"."m__state_handling_s") AS "m__state_handling_s",
    MAX("t34"."m__state_staffed_s") AS "m__state_staffed_s"
  FROM (
    SELECT
      *
    FROM (
      SELECT
        "t27"."period",
        "t27"."team",
        CAST(NULL AS DOUBLE) AS "m__adherent_s",
        CAST(NULL AS DOUBLE) AS "m__scheduled_s",
        "t27"."m__state_handling_s",
        "t27"."m__state_staffed_s"
      FROM (
        SELECT
          "t24"."period",
          "t24"."team",
          SUM("t24"."_v0") FILTER(WHERE
            "t24"."_c0") AS "m__state_handling_s",
          SUM("t24"."_v0") FILTER(WHERE
            "t24"."_c1") AS "m__state_staffed_s"
        FROM (
          SELECT
            CAST(DATE_TRUNC('MONTH', TIMEZONE('Asia/Shanghai', "t21"."started_at")) AS DATE) AS "period",
            "t21"."team",
            "t21"."state" IN ('busy', 'acw') AS "_c0",
            "t21"."duration_s" AS "_v0",
            "t21"."state" IN ('ready', 'busy', 'acw') AS "_c1"
          FROM (
            SELECT
              *
            FROM (
              SELECT
                "t15".*
                EXCLUDE ("_roster_agent")
              FROM (
                SELECT
                  "t13"."tenant_id",
                  "t13"."load_id",
                  "t13"."agent_id",
                  "t13"."state",
                  "t13"."reason",
                  "t13"."queue",
                  "t13"."started_at",
                  "t13"."ended_at",
                  "t13"."_row_hash",
                  "t13"."duration_s",
                  "t11"."_roster_agent",
                  "t11"."team",
                  "t11"."center"
                FROM (
                  SELECT
                    "t0"."tenant_id",
                    "t0"."load_id",
                    "t0"."agent_id",
                    "t0"."state",
                    "t0"."reason",
                    "t0"."queue",
                    "t0"."started_at",
                    "t0"."ended_at",
                    "t0"."_row_hash",
                    CAST(EPOCH(CAST("t0"."ended_at" AS TIMESTAMP)) - EPOCH(CAST("t0"."started_at" AS TIMESTAMP)) AS DOUBLE) AS "duration_s"
                  FROM "agent_states" AS "t0"
                  WHERE
                    "t0"."tenant_id" = 'snap'
                ) AS "t13"
                LEFT OUTER JOIN "t5" AS "t11"
                  ON "t13"."agent_id" = "t11"."_roster_agent"
              ) AS "t15"
            ) AS "t18"
            WHERE
              "t18"."started_at" >= MAKE_TIMESTAMPTZ(2026, 1, 1, 0, 0, 0.0, 'Asia/Shanghai')
              AND "t18"."started_at" < MAKE_TIMESTAMPTZ(2026, 4, 1, 0, 0, 0.0, 'Asia/Shanghai')
              AND "t18"."started_at" IS NOT NULL
          ) AS "t21"
        ) AS "t24"
        GROUP BY
          1,
          2
      ) AS "t27"
    ) AS "t30"
    UNION ALL
    SELECT
      *
    FROM (
      SELECT
        *
      FROM (
        SELECT
          "t28"."period",
          "t28"."team",
          "t28"."m__adherent_s",
          CAST(NULL AS DOUBLE) AS "m__scheduled_s",
          CAST(NULL AS DOUBLE) AS "m__state_handling_s",
          CAST(NULL AS DOUBLE) AS "m__state_staffed_s"
        FROM (
          SELECT
            "t25"."period",
            "t25"."team",
            SUM("t25"."_v0") FILTER(WHERE
              "t25"."_c0") AS "m__adherent_s"
          FROM (
            SELECT
              CAST(DATE_TRUNC('MONTH', TIMEZONE('Asia/Shanghai', "t22"."start_at")) AS DATE) AS "period",
              "t22"."team",
              (
                "t22"."activity" <> 'off'
              ) AND "t22"."compliant" AS "_c0",
              "t22"."overlap_s" AS "_v0"
            FROM (
              SELECT
                *
              FROM (
                SELECT
                  "t16".*
                  EXCLUDE ("_roster_agent")
                FROM (
                  SELECT
                    "t7"."agent_id",
                    "t7"."activity",
                    "t7"."start_at",
                    "t7"."end_at",
                    "t7"."queue",
                    "t6"."state",
                    CAST(EPOCH(CAST(LEAST("t7"."end_at", "t6"."_a_end") AS TIMESTAMP)) - EPOCH(CAST(GREATEST("t7"."start_at", "t6"."_a_start") AS TIMESTAMP)) AS DOUBLE) AS "overlap_s",
                    CASE
                      WHEN "t7"."activity" = 'work'
                      THEN "t6"."state" IN ('ready', 'busy', 'acw')
                      ELSE "t6"."state" IN ('aux', 'offline')
                    END AS "compliant",
                    "t12"."_roster_agent",
                    "t12"."team",
                    "t12"."center"
                  FROM (
                    SELECT
                      *
                    FROM "schedules" AS "t1"
                    WHERE
                      "t1"."tenant_id" = 'snap'
                  ) AS "t7"
                  INNER JOIN (
                    SELECT
                      "t0"."agent_id" AS "_a_agent",
                      "t0"."state",
                      "t0"."started_at" AS "_a_start",
                      "t0"."ended_at" AS "_a_end"
                    FROM "agent_states" AS "t0"
                    WHERE
                      "t0"."tenant_id" = 'snap'
                  ) AS "t6"
                    ON "t7"."agent_id" = "t6"."_a_agent"
                    AND "t6"."_a_start" < "t7"."end_at"
                    AND "t6"."_a_end" IS NOT NULL
                    AND "t6"."_a_end" > "t7"."start_at"
                  LEFT OUTER JOIN "t5" AS "t12"
                    ON "t7"."agent_id" = "t12"."_roster_agent"
                ) AS "t16"
              ) AS "t19"
              WHERE
                "t19"."start_at" >= MAKE_TIMESTAMPTZ(2026, 1, 1, 0, 0, 0.0, 'Asia/Shanghai')
                AND "t19"."start_at" < MAKE_TIMESTAMPTZ(2026, 4, 1, 0, 0, 0.0, 'Asia/Shanghai')
                AND "t19"."start_at" IS NOT NULL
            ) AS "t22"
          ) AS "t25"
          GROUP BY
            1,
            2
        ) AS "t28"
      ) AS "t31"
      UNION ALL
      SELECT
        *
      FROM (
        SELECT
          "t29"."period",
          "t29"."team",
          CAST(NULL AS DOUBLE) AS "m__adherent_s",
          "t29"."m__scheduled_s",
          CAST(NULL AS DOUBLE) AS "m__state_handling_s",
          CAST(NULL AS DOUBLE) AS "m__state_staffed_s"
        FROM (
          SELECT
            "t26"."period",
            "t26"."team",
            SUM("t26"."_v0") FILTER(WHERE
              "t26"."_c0") AS "m__scheduled_s"
          FROM (
            SELECT
              CAST(DATE_TRUNC('MONTH', TIMEZONE('Asia/Shanghai', "t23"."start_at")) AS DATE) AS "period",
              "t23"."team",
              "t23"."activity" <> 'off' AS "_c0",
              "t23"."duration_s" AS "_v0"
            FROM (
              SELECT
                *
              FROM (
                SELECT
                  "t17".*
                  EXCLUDE ("_roster_agent")
                FROM (
                  SELECT
                    "t14"."tenant_id",
                    "t14"."load_id",
                    "t14"."agent_id",
                    "t14"."activity",
                    "t14"."start_at",
                    "t14"."end_at",
                    "t14"."queue",
                    "t14"."_row_hash",
                    "t14"."duration_s",
                    "t11"."_roster_agent",
                    "t11"."team",
                    "t11"."center"
                  FROM (
                    SELECT
                      "t1"."tenant_id",
                      "t1"."load_id",
                      "t1"."agent_id",
                      "t1"."activity",
                      "t1"."start_at",
                      "t1"."end_at",
                      "t1"."queue",
                      "t1"."_row_hash",
                      CAST(EPOCH(CAST("t1"."end_at" AS TIMESTAMP)) - EPOCH(CAST("t1"."start_at" AS TIMESTAMP)) AS DOUBLE) AS "duration_s"
                    FROM "schedules" AS "t1"
                    WHERE
                      "t1"."tenant_id" = 'snap'
                  ) AS "t14"
                  LEFT OUTER JOIN "t5" AS "t11"
                    ON "t14"."agent_id" = "t11"."_roster_agent"
                ) AS "t17"
              ) AS "t20"
              WHERE
                "t20"."start_at" >= MAKE_TIMESTAMPTZ(2026, 1, 1, 0, 0, 0.0, 'Asia/Shanghai')
                AND "t20"."start_at" < MAKE_TIMESTAMPTZ(2026, 4, 1, 0, 0, 0.0, 'Asia/Shanghai')
                AND "t20"."start_at" IS NOT NULL
            ) AS "t23"
          ) AS "t26"
          GROUP BY
            1,
            2
        ) AS "t29"
      ) AS "t32"
    ) AS "t33"
  ) AS "t34"
  GROUP BY
    1,
    2
) AS "t35"
ORDER BY
  "t35"."period" ASC,
  "t35"."team" ASC
