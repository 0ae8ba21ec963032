CREATE TABLE "ai_agent_x402_payments" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"task_id" uuid NOT NULL,
	"sequence_number" integer NOT NULL,
	"nonce" varchar(66) NOT NULL,
	"authorization" jsonb NOT NULL,
	"signature" text NOT NULL,
	"amount" numeric(78, 0) NOT NULL,
	"pay_to" varchar(42) NOT NULL,
	"valid_before" timestamp with time zone NOT NULL,
	"status" varchar(16) DEFAULT 'signed' NOT NULL,
	"http_status" integer,
	"settlement_tx_hash" varchar(66),
	"response" jsonb,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	CONSTRAINT "ai_agent_x402_payments_nonce_unique" UNIQUE("nonce")
);
--> statement-breakpoint
ALTER TABLE "ai_agent_tasks" ADD COLUMN "route" varchar(16) DEFAULT 'contract' NOT NULL;--> statement-breakpoint
ALTER TABLE "ai_agent_tasks" ADD COLUMN "x402" jsonb;--> statement-breakpoint
ALTER TABLE "ai_agent_x402_payments" ADD CONSTRAINT "ai_agent_x402_payments_task_id_ai_agent_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."ai_agent_tasks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ai_agent_x402_payments_task_idx" ON "ai_agent_x402_payments" USING btree ("task_id","sequence_number");--> statement-breakpoint
CREATE UNIQUE INDEX "ai_agent_x402_payments_open_idx" ON "ai_agent_x402_payments" USING btree ("task_id","sequence_number") WHERE "ai_agent_x402_payments"."status" in ('signed', 'sent');--> statement-breakpoint
ALTER TABLE "ai_agent_tasks" ADD CONSTRAINT "ai_agent_tasks_route_check" CHECK (("ai_agent_tasks"."route" = 'contract' and "ai_agent_tasks"."x402" is null) or ("ai_agent_tasks"."route" = 'x402' and "ai_agent_tasks"."x402" is not null));