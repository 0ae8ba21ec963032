CREATE TABLE "assistant_key_uses" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"key_id" uuid NOT NULL,
	"action" varchar(40) NOT NULL,
	"outcome" varchar(16) NOT NULL,
	"task_id" uuid,
	"spend_usdc" numeric(78, 0),
	"error_code" varchar(64),
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "assistant_key_uses_outcome_check" CHECK ("assistant_key_uses"."outcome" in ('ok', 'refused', 'error'))
);
--> statement-breakpoint
CREATE TABLE "assistant_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_address" varchar(42) NOT NULL,
	"name" varchar(60) NOT NULL,
	"token_hash" varchar(64) NOT NULL,
	"token_prefix" varchar(16) NOT NULL,
	"scopes" text[] NOT NULL,
	"daily_cap_usdc" numeric(78, 0) NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	CONSTRAINT "assistant_keys_token_hash_unique" UNIQUE("token_hash"),
	CONSTRAINT "assistant_keys_cap_check" CHECK ("assistant_keys"."daily_cap_usdc" >= 0)
);
--> statement-breakpoint
ALTER TABLE "assistant_key_uses" ADD CONSTRAINT "assistant_key_uses_key_id_assistant_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."assistant_keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "assistant_key_uses_key_idx" ON "assistant_key_uses" USING btree ("key_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "assistant_keys_user_idx" ON "assistant_keys" USING btree ("user_address","created_at" DESC NULLS LAST);