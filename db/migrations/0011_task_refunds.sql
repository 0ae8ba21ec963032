ALTER TABLE "ai_agent_tasks" ADD COLUMN "refund_checked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "ai_agent_tasks" ADD COLUMN "refund_tx_hash" varchar(66);--> statement-breakpoint
CREATE INDEX "ai_agent_tasks_refund_due_idx" ON "ai_agent_tasks" USING btree ("agent_wallet_id") WHERE "ai_agent_tasks"."status" in ('completed', 'cancelled') and "ai_agent_tasks"."refund_checked_at" is null;--> statement-breakpoint
-- Tasks that ended before refunds existed: their leftover stays where it is (the user withdraws it), as it did.
UPDATE "ai_agent_tasks" SET "refund_checked_at" = coalesce("completed_at", now()) WHERE "status" in ('completed', 'cancelled');
