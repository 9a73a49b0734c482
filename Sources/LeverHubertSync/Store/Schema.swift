import GRDB

/// The store's schema as named migrations, run at open. Constraints live in the schema so that even buggy code
/// cannot store an inconsistent ledger. The store holds ids and outcomes, never names or e-mail addresses.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE checkpoint (
                        stream TEXT PRIMARY KEY NOT NULL,
                        at_ms INTEGER NOT NULL CHECK (at_ms >= 0),
                        updated_ms INTEGER NOT NULL
                    );
                    -- When each posting was first seen carrying its Hubert tag.
                    CREATE TABLE posting_tag (
                        posting_id TEXT NOT NULL CHECK (posting_id <> ''),
                        template_id TEXT NOT NULL CHECK (length(template_id) = 24),
                        first_seen_ms INTEGER NOT NULL,
                        last_seen_ms INTEGER NOT NULL,
                        PRIMARY KEY (posting_id, template_id)
                    );
                    -- One invitation per (opportunity, template), ever. 'pending' = intent recorded, outcome unknown.
                    CREATE TABLE invitation (
                        opportunity_id TEXT NOT NULL CHECK (opportunity_id <> ''),
                        template_id TEXT NOT NULL CHECK (length(template_id) = 24),
                        posting_id TEXT NOT NULL,
                        idempotency_key TEXT NOT NULL UNIQUE,
                        state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'refused')),
                        interview_id TEXT UNIQUE,
                        interview_status TEXT,
                        stage_at_invitation TEXT,
                        refusal TEXT,
                        created_ms INTEGER NOT NULL,
                        sent_ms INTEGER,
                        updated_ms INTEGER NOT NULL,
                        PRIMARY KEY (opportunity_id, template_id),
                        CHECK (state <> 'sent' OR interview_id IS NOT NULL)
                    );
                    -- Write-back steps of one result version (fingerprint) of one interview.
                    CREATE TABLE result_step (
                        interview_id TEXT NOT NULL,
                        fingerprint TEXT NOT NULL,
                        step TEXT NOT NULL CHECK (step IN ('tag', 'note', 'link', 'move')),
                        opportunity_id TEXT NOT NULL,
                        state TEXT NOT NULL CHECK (state IN ('pending', 'done')),
                        marker TEXT,
                        note_id TEXT,
                        updated_ms INTEGER NOT NULL,
                        PRIMARY KEY (interview_id, fingerprint, step),
                        CHECK (step <> 'note' OR marker IS NOT NULL)
                    );
                    -- The latest result version fully written back, per interview.
                    CREATE TABLE applied_result (
                        interview_id TEXT PRIMARY KEY NOT NULL,
                        opportunity_id TEXT NOT NULL,
                        fingerprint TEXT NOT NULL,
                        grade TEXT NOT NULL CHECK (grade IN ('lead', 'passed', 'not_qualified')),
                        applied_ms INTEGER NOT NULL
                    );
                    CREATE TABLE run (
                        id TEXT PRIMARY KEY NOT NULL,
                        kind TEXT NOT NULL CHECK (kind IN ('run', 'backfill')),
                        started_ms INTEGER NOT NULL,
                        finished_ms INTEGER,
                        exit_code INTEGER,
                        counts_json TEXT,
                        lever_requests INTEGER NOT NULL DEFAULT 0,
                        hubert_requests INTEGER NOT NULL DEFAULT 0,
                        message TEXT
                    );
                    -- Items a human must look at; one row per (opportunity, posting, reason), refreshed while it lasts.
                    CREATE TABLE problem (
                        opportunity_id TEXT NOT NULL DEFAULT '',
                        posting_id TEXT NOT NULL DEFAULT '',
                        reason TEXT NOT NULL CHECK (reason <> ''),
                        message TEXT NOT NULL,
                        first_seen_ms INTEGER NOT NULL,
                        last_seen_ms INTEGER NOT NULL,
                        run_id TEXT NOT NULL,
                        PRIMARY KEY (opportunity_id, posting_id, reason)
                    );
                    -- What Hubert said of a template when last asked ('missing' = 404).
                    CREATE TABLE template_cache (
                        template_id TEXT PRIMARY KEY NOT NULL,
                        status TEXT NOT NULL,
                        threshold REAL,
                        checked_ms INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v2-lookup-cache") { db in
            try db.execute(
                sql: """
                    -- Lever data that rarely changes (stages, the perform-as user id), refreshed after an interval.
                    CREATE TABLE lookup_cache (
                        key TEXT PRIMARY KEY NOT NULL,
                        value TEXT NOT NULL,
                        fetched_ms INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v3-due-results") { db in
            try db.execute(
                sql: """
                    -- A result version due for write-back: recorded before its first step is applied, removed when every
                    -- step is done. A step that fails leaves it here, so later passes try again whatever the Hubert
                    -- checkpoint does; after sync.giveUpAfterDays it is given up and reported.
                    CREATE TABLE result_due (
                        interview_id TEXT PRIMARY KEY NOT NULL,
                        opportunity_id TEXT NOT NULL,
                        fingerprint TEXT NOT NULL,
                        state TEXT NOT NULL CHECK (state IN ('due', 'given_up')),
                        first_due_ms INTEGER NOT NULL,
                        last_attempt_ms INTEGER NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                        last_error TEXT
                    );
                    CREATE INDEX result_due_opportunity ON result_due (opportunity_id);
                    -- Facts about the database itself (for example that the demo made it).
                    CREATE TABLE meta (
                        key TEXT PRIMARY KEY NOT NULL,
                        value TEXT NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v4-funnel") { db in
            try db.execute(
                sql: """
                    -- The posting's title, for the funnel (a job's name, not a person's).
                    ALTER TABLE posting_tag ADD COLUMN posting_name TEXT;
                    -- When the application was created in Lever (ms), for the invitation latency.
                    ALTER TABLE invitation ADD COLUMN applied_ms INTEGER;
                    -- Every opportunity that applied to, or entered New applicant on, a tagged posting after the posting was
                    -- first seen with its tag (or inside a backfill window), as the tool saw it: invited or not. Ids and
                    -- times only.
                    CREATE TABLE applicant (
                        opportunity_id TEXT NOT NULL CHECK (opportunity_id <> ''),
                        template_id TEXT NOT NULL CHECK (length(template_id) = 24),
                        posting_id TEXT NOT NULL,
                        applied_ms INTEGER,
                        seen_ms INTEGER NOT NULL,
                        PRIMARY KEY (opportunity_id, template_id)
                    );
                    CREATE INDEX applicant_posting ON applicant (posting_id);
                    """)
        }
        migrator.registerMigration("v5-posting-snapshot") { db in
            try db.execute(
                sql: """
                    -- What the last postings read said of each posting's tags, so that a pass reads only the postings
                    -- changed since (updated_at_start) and a full list at most hourly. A job's title, never a person.
                    CREATE TABLE posting_snapshot (
                        posting_id TEXT PRIMARY KEY NOT NULL CHECK (posting_id <> ''),
                        verdict TEXT NOT NULL CHECK (verdict IN ('untagged', 'template', 'invalid')),
                        template_id TEXT CHECK (verdict <> 'template' OR length(template_id) = 24),
                        reason TEXT,
                        message TEXT,
                        name TEXT,
                        updated_ms INTEGER,
                        read_ms INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v6-eligibility-state") { db in
            try db.execute(
                sql: """
                    -- A posting's tag over its life: one row per stretch of time it carried one Hubert template tag;
                    -- end_ms is null while the tag is current (at most one open period per posting).
                    CREATE TABLE tagging_period (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        posting_id TEXT NOT NULL CHECK (posting_id <> ''),
                        template_id TEXT NOT NULL CHECK (length(template_id) = 24),
                        start_ms INTEGER NOT NULL,
                        end_ms INTEGER CHECK (end_ms IS NULL OR end_ms >= start_ms)
                    );
                    CREATE UNIQUE INDEX tagging_period_open ON tagging_period (posting_id) WHERE end_ms IS NULL;
                    CREATE INDEX tagging_period_posting ON tagging_period (posting_id, template_id);
                    -- Each existing tag becomes one period: the pair seen last is the open one, earlier pairs of the
                    -- same posting end when they were last seen.
                    INSERT INTO tagging_period (posting_id, template_id, start_ms, end_ms)
                        SELECT t.posting_id, t.template_id, t.first_seen_ms,
                            CASE WHEN t.last_seen_ms = (SELECT max(o.last_seen_ms) FROM posting_tag o
                                                        WHERE o.posting_id = t.posting_id)
                                  AND NOT EXISTS (SELECT 1 FROM posting_tag o WHERE o.posting_id = t.posting_id
                                                  AND o.last_seen_ms = t.last_seen_ms AND o.template_id > t.template_id)
                                  AND NOT EXISTS (SELECT 1 FROM posting_snapshot s WHERE s.posting_id = t.posting_id
                                                  AND (s.verdict <> 'template' OR s.template_id <> t.template_id))
                                 THEN NULL ELSE max(t.first_seen_ms, t.last_seen_ms) END
                        FROM posting_tag t ORDER BY t.first_seen_ms;
                    -- The first sighting of a malformed Hubert tag on a posting: a corrected tag counts from it.
                    -- corrected_ms: when a pass saw it corrected; the row stays until a pass has processed its whole window.
                    CREATE TABLE posting_malformed (
                        posting_id TEXT PRIMARY KEY NOT NULL CHECK (posting_id <> ''),
                        since_ms INTEGER NOT NULL,
                        corrected_ms INTEGER
                    );
                    -- Held-back candidates: due for an invitation, but waiting for a cause somebody can fix. Decided
                    -- again when the cause may have changed; given up after sync.holdDays. Ids, times and reasons only.
                    CREATE TABLE hold (
                        opportunity_id TEXT NOT NULL CHECK (opportunity_id <> ''),
                        template_id TEXT NOT NULL CHECK (length(template_id) = 24),
                        posting_id TEXT NOT NULL,
                        reason TEXT NOT NULL CHECK (reason <> ''),
                        state TEXT NOT NULL CHECK (state IN ('held', 'given_up')),
                        trigger_ms INTEGER,
                        -- The opportunity's updatedAt when last decided: only a later edit can have fixed the cause.
                        opportunity_updated_ms INTEGER,
                        since_ms INTEGER NOT NULL,
                        updated_ms INTEGER NOT NULL,
                        PRIMARY KEY (opportunity_id, template_id)
                    );
                    CREATE INDEX hold_posting ON hold (posting_id, state);
                    """)
        }
        migrator.registerMigration("v7-attempts-and-growth") { db in
            try db.execute(
                sql: """
                    -- Real tries of an unconfirmed invitation on different passes: given up only after both
                    -- sync.giveUpAfterDays and several failed tries (a pause or a clock step alone gives nothing up).
                    ALTER TABLE invitation ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0);
                    ALTER TABLE invitation ADD COLUMN last_attempt_ms INTEGER;
                    -- What grows with every pass is bounded and read through indexes: a run that did nothing (exit 0,
                    -- nothing sent, written, failed or skipped) is kept a day, others sync.retentionDays.
                    ALTER TABLE run ADD COLUMN idle INTEGER NOT NULL DEFAULT 0;
                    CREATE INDEX run_started ON run (started_ms);
                    CREATE INDEX run_idle ON run (started_ms) WHERE idle = 1;
                    CREATE INDEX run_clean ON run (kind, exit_code, started_ms);
                    CREATE INDEX run_finished ON run (exit_code, finished_ms);
                    CREATE INDEX problem_last_seen ON problem (last_seen_ms);
                    CREATE INDEX applicant_seen ON applicant (seen_ms);
                    CREATE INDEX result_step_state ON result_step (state, updated_ms);
                    CREATE INDEX result_due_state ON result_due (state, last_attempt_ms);
                    CREATE INDEX invitation_state ON invitation (state, created_ms);
                    """)
        }
        return migrator
    }
}
