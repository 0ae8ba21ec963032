CREATE TABLE "ai_agent_x402_claims" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"task_id" uuid NOT NULL,
	"payment_id" bigint NOT NULL,
	"user_address" varchar(42) NOT NULL,
	"pay_to" varchar(42) NOT NULL,
	"amount" numeric(78, 0) NOT NULL,
	"settlement_tx_hash" varchar(66),
	"http_status" integer,
	"seller_answer" text,
	"token" varchar(42) NOT NULL,
	"arrived_amount" numeric(78, 0) NOT NULL,
	"expected_amount" numeric(78, 0),
	"status" varchar(16) DEFAULT 'open' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone,
	CONSTRAINT "ai_agent_x402_claims_payment_id_unique" UNIQUE("payment_id")
);
--> statement-breakpoint
CREATE TABLE "ai_agent_x402_deliveries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"task_id" uuid NOT NULL,
	"token" varchar(42) NOT NULL,
	"recipient" varchar(42) NOT NULL,
	"tx_hash" varchar(66) NOT NULL,
	"log_index" integer NOT NULL,
	"block_number" bigint NOT NULL,
	"amount" numeric(78, 0) NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ai_agent_x402_task_state" (
	"task_id" uuid PRIMARY KEY NOT NULL,
	"refusals" integer DEFAULT 0 NOT NULL,
	"operator_cancels" integer DEFAULT 0 NOT NULL,
	"delivery_unit" numeric(78, 0),
	"delivery_from_block" bigint,
	"stop_outcome" varchar(16),
	"stop_reason" text,
	"stop_retries" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "ai_agent_x402_claims" ADD CONSTRAINT "ai_agent_x402_claims_task_id_ai_agent_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."ai_agent_tasks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ai_agent_x402_claims" ADD CONSTRAINT "ai_agent_x402_claims_payment_id_ai_agent_x402_payments_id_fk" FOREIGN KEY ("payment_id") REFERENCES "public"."ai_agent_x402_payments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ai_agent_x402_deliveries" ADD CONSTRAINT "ai_agent_x402_deliveries_task_id_ai_agent_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."ai_agent_tasks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ai_agent_x402_task_state" ADD CONSTRAINT "ai_agent_x402_task_state_task_id_ai_agent_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."ai_agent_tasks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ai_agent_x402_claims_task_idx" ON "ai_agent_x402_claims" USING btree ("task_id");--> statement-breakpoint
CREATE INDEX "ai_agent_x402_claims_user_idx" ON "ai_agent_x402_claims" USING btree ("user_address","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "ai_agent_x402_deliveries_log_idx" ON "ai_agent_x402_deliveries" USING btree ("tx_hash","log_index");--> statement-breakpoint
CREATE INDEX "ai_agent_x402_deliveries_task_idx" ON "ai_agent_x402_deliveries" USING btree ("task_id");