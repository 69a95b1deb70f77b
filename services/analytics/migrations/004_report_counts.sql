-- Surprise inspections started on a report (phản ánh), per unit and month: a risk signal.
ALTER TABLE inspection_counts ADD COLUMN reports integer NOT NULL DEFAULT 0;
