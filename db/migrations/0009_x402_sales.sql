CREATE TABLE "x402_sales" (
	"id" uuid PRIMARY KEY NOT NULL,
	"task_id" uuid NOT NULL,
	"payer" varchar(42) NOT NULL,
	"payment_nonce" varchar(66) NOT NULL,
	"payment_id" varchar(128),
	"request_hash" varchar(64) NOT NULL,
	"task_token_hash" varchar(64) NOT NULL,
	"x402_version" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "x402_sales_task_id_unique" UNIQUE("task_id"),
	CONSTRAINT "x402_sales_task_token_hash_unique" UNIQUE("task_token_hash"),
	CONSTRAINT "x402_sales_version_check" CHECK ("x402_sales"."x402_version" in (1, 2))
);
--> statement-breakpoint
ALTER TABLE "x402_sales" ADD CONSTRAINT "x402_sales_task_id_ai_agent_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."ai_agent_tasks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "x402_sales_payment_idx" ON "x402_sales" USING btree ("payer","payment_nonce");--> statement-breakpoint
CREATE UNIQUE INDEX "x402_sales_payment_id_idx" ON "x402_sales" USING btree ("payer","payment_id") WHERE "x402_sales"."payment_id" is not null;