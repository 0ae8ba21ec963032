CREATE TABLE "agent_gas_topups" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"user_address" varchar(42) NOT NULL,
	"task_id" uuid,
	"amount_wei" numeric(78, 0) NOT NULL,
	"tx_hash" varchar(66),
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "known_tokens" (
	"chain_id" integer NOT NULL,
	"address" varchar(42) NOT NULL,
	"source" varchar(16) NOT NULL,
	"name" text,
	"symbol" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "known_tokens_chain_id_address_pk" PRIMARY KEY("chain_id","address"),
	CONSTRAINT "known_tokens_source_check" CHECK ("known_tokens"."source" in ('deployed', 'listed'))
);
--> statement-breakpoint
ALTER TABLE "ai_agent_tasks" ADD COLUMN "funding_submitted_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "agent_gas_topups_user_idx" ON "agent_gas_topups" USING btree ("user_address","created_at");