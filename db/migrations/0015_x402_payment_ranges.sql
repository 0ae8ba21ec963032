-- Never two payments for one mint. A payment buys mints sequence_number .. sequence_number + units - 1
-- (a seller that prices a quantity); the worker picks only mints no open (signed, sent) or settled
-- payment covers (listUnpaidX402SequencesByTask). The unique index on (task, sequence) of open rows
-- caught two live authorizations starting at one mint, not one payment of 3 mints overlapping
-- another's, nor a settled mint bought again. This exclusion constraint refuses all three.
-- btree_gist gives uuid its `=` in a GiST index; it is a trusted extension (PostgreSQL 13+), so the
-- database's owner may create it without superuser.
CREATE EXTENSION IF NOT EXISTS btree_gist;--> statement-breakpoint
ALTER TABLE "ai_agent_x402_payments" ADD CONSTRAINT "ai_agent_x402_payments_units_positive" CHECK ("units" >= 1);--> statement-breakpoint
ALTER TABLE "ai_agent_x402_payments" ADD CONSTRAINT "ai_agent_x402_payments_no_overlap"
  EXCLUDE USING gist ("task_id" WITH =, int4range("sequence_number", "sequence_number" + "units") WITH &&)
  WHERE ("status" in ('signed', 'sent', 'settled'));--> statement-breakpoint
DROP INDEX "ai_agent_x402_payments_open_idx";
