CREATE TABLE "agent_eth_sweeps" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"agent_wallet_id" uuid NOT NULL,
	"user_address" varchar(42) NOT NULL,
	"amount_wei" numeric(78, 0) NOT NULL,
	"max_gas_wei" numeric(78, 0) NOT NULL,
	"gas_cost_wei" numeric(78, 0),
	"nonce" integer NOT NULL,
	"tx_hash" varchar(66) NOT NULL,
	"status" varchar(16) DEFAULT 'sent' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"confirmed_at" timestamp with time zone,
	CONSTRAINT "agent_eth_sweeps_status_check" CHECK ("agent_eth_sweeps"."status" in ('sent', 'confirmed', 'failed'))
);
--> statement-breakpoint
ALTER TABLE "ai_agent_wallets" ADD COLUMN "eth_sweep_due_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "agent_eth_sweeps" ADD CONSTRAINT "agent_eth_sweeps_agent_wallet_id_ai_agent_wallets_id_fk" FOREIGN KEY ("agent_wallet_id") REFERENCES "public"."ai_agent_wallets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agent_eth_sweeps_user_idx" ON "agent_eth_sweeps" USING btree ("user_address","created_at");--> statement-breakpoint
CREATE INDEX "ai_agent_wallets_eth_sweep_due_idx" ON "ai_agent_wallets" USING btree ("eth_sweep_due_at") WHERE "ai_agent_wallets"."eth_sweep_due_at" is not null;--> statement-breakpoint
-- Wallets topped up before sweeps existed may park ETH: each is looked at once.
UPDATE "ai_agent_wallets" SET "eth_sweep_due_at" = now() WHERE "user_address" IN (SELECT "user_address" FROM "agent_gas_topups");
