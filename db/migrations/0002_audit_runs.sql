CREATE TABLE "audit_runs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone DEFAULT now() NOT NULL,
	"from_block" bigint NOT NULL,
	"to_block" bigint NOT NULL,
	"users" integer NOT NULL,
	"discrepancies" integer NOT NULL,
	"report" jsonb NOT NULL
);
