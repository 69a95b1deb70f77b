-- The central view's figures of every province for the question it is asked by default (this year, on
-- today), kept by the analytics worker (figures_keeper.py) so that the view computes only the provinces
-- changed since the worker's last pass, whichever API process is asked and however long since anyone
-- asked (computing all 34 afresh at 10 million findings takes over half a second).
--
-- A row is served only while its province's change count (read_model_versions, migration 009) is still
-- the one it was computed at, and only to the code that computed it (code: queries.FIGURES_CODE).
-- Nothing here needs a reset with the read models: a reset moves every province's count.
CREATE TABLE province_figures (
    tenant      text NOT NULL,
    question    text NOT NULL,         -- queries.central_question: period and today
    code        text NOT NULL,
    version     bigint NOT NULL,       -- the province's change count read before computing
    figures     jsonb NOT NULL,        -- the province's row of the central view
    computed_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, question)
);
SELECT enable_tenant_rls('province_figures');
SELECT disable_audit('province_figures');
