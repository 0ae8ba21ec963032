CREATE TABLE "ai_agent_chats" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_address" varchar(42) NOT NULL,
	"role" varchar(16) NOT NULL,
	"parts" jsonb NOT NULL,
	"task_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ai_agent_mint_records" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"task_id" uuid NOT NULL,
	"sequence_number" integer NOT NULL,
	"mint_id" varchar(66) NOT NULL,
	"nonce" integer NOT NULL,
	"tx_hash" varchar(66),
	"raw_transaction" text,
	"max_fee_per_gas" numeric(78, 0),
	"max_priority_fee_per_gas" numeric(78, 0),
	"status" varchar(16) DEFAULT 'signed' NOT NULL,
	"error" text,
	"block_number" bigint,
	"gas_used" numeric(78, 0),
	"effective_gas_price" numeric(78, 0),
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	"confirmed_at" timestamp with time zone,
	CONSTRAINT "ai_agent_mint_records_mint_id_unique" UNIQUE("mint_id")
);
--> statement-breakpoint
CREATE TABLE "ai_agent_tasks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_address" varchar(42) NOT NULL,
	"agent_wallet_id" uuid NOT NULL,
	"chain_id" integer NOT NULL,
	"token_address" varchar(42) NOT NULL,
	"quantity" integer NOT NULL,
	"price_per_mint" numeric(78, 0) NOT NULL,
	"total_cost" numeric(78, 0) NOT NULL,
	"status" varchar(20) DEFAULT 'pending_payment' NOT NULL,
	"priority" integer DEFAULT 0 NOT NULL,
	"mints_completed" integer DEFAULT 0 NOT NULL,
	"mints_failed" integer DEFAULT 0 NOT NULL,
	"funding_request" jsonb,
	"funding_authorization" jsonb,
	"funding_nonce" varchar(66),
	"funding_tx_hash" varchar(66),
	"error_message" text,
	"cancel_requested" boolean DEFAULT false NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"retries" integer DEFAULT 0 NOT NULL,
	"locked_by" text,
	"locked_until" timestamp with time zone,
	"next_attempt_at" timestamp with time zone,
	"gas_topped_up_wei" numeric(78, 0) DEFAULT '0' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"funded_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	CONSTRAINT "ai_agent_tasks_status_check" CHECK ("ai_agent_tasks"."status" in ('pending_payment','funded','processing','completed','failed','cancelled')),
	CONSTRAINT "ai_agent_tasks_quantity_check" CHECK ("ai_agent_tasks"."quantity" between 1 and 1000),
	CONSTRAINT "ai_agent_tasks_progress_check" CHECK ("ai_agent_tasks"."mints_completed" >= 0 and "ai_agent_tasks"."mints_completed" <= "ai_agent_tasks"."quantity")
);
--> statement-breakpoint
CREATE TABLE "ai_agent_wallets" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_address" varchar(42) NOT NULL,
	"agent_address" varchar(42) NOT NULL,
	"encrypted_private_key" text NOT NULL,
	"usdc_balance" numeric(78, 0) DEFAULT '0' NOT NULL,
	"last_balance_check" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ai_agent_wallets_user_address_unique" UNIQUE("user_address"),
	CONSTRAINT "ai_agent_wallets_agent_address_unique" UNIQUE("agent_address")
);
--> statement-breakpoint
CREATE TABLE "auth_nonces" (
	"nonce" varchar(64) PRIMARY KEY NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_deliveries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event" varchar(32) NOT NULL,
	"task_id" uuid,
	"payload" jsonb NOT NULL,
	"status" varchar(16) DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "ai_agent_mint_records" ADD CONSTRAINT "ai_agent_mint_records_task_id_ai_agent_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."ai_agent_tasks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ai_agent_tasks" ADD CONSTRAINT "ai_agent_tasks_agent_wallet_id_ai_agent_wallets_id_fk" FOREIGN KEY ("agent_wallet_id") REFERENCES "public"."ai_agent_wallets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ai_agent_chats_user_idx" ON "ai_agent_chats" USING btree ("user_address","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "ai_agent_mint_records_task_seq_idx" ON "ai_agent_mint_records" USING btree ("task_id","sequence_number");--> statement-breakpoint
CREATE INDEX "ai_agent_mint_records_open_idx" ON "ai_agent_mint_records" USING btree ("task_id") WHERE "ai_agent_mint_records"."status" in ('signed', 'sent');--> statement-breakpoint
CREATE INDEX "ai_agent_tasks_claim_idx" ON "ai_agent_tasks" USING btree ("priority" DESC NULLS LAST,"created_at") WHERE "ai_agent_tasks"."status" in ('funded', 'processing');--> statement-breakpoint
CREATE INDEX "ai_agent_tasks_user_idx" ON "ai_agent_tasks" USING btree ("user_address","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "ai_agent_tasks_pending_idx" ON "ai_agent_tasks" USING btree ("created_at") WHERE "ai_agent_tasks"."status" = 'pending_payment';--> statement-breakpoint
CREATE UNIQUE INDEX "ai_agent_tasks_funding_nonce_idx" ON "ai_agent_tasks" USING btree ("user_address","funding_nonce");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_due_idx" ON "webhook_deliveries" USING btree ("next_attempt_at") WHERE "webhook_deliveries"."status" = 'pending';