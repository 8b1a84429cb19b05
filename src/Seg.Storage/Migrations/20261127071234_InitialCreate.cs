using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Seg.Storage.Migrations
{
    /// <inheritdoc />
    public partial class InitialCreate : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "sweeps",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    idempotency_key = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    definition_json = table.Column<string>(type: "jsonb", nullable: false),
                    tags_json = table.Column<string>(type: "jsonb", nullable: false),
                    priority = table.Column<int>(type: "integer", nullable: false),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    task_count = table.Column<int>(type: "integer", nullable: false),
                    max_attempts = table.Column<int>(type: "integer", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    finished_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_sweeps", x => x.id);
                    table.CheckConstraint("ck_sweeps_max_attempts", "max_attempts > 0");
                    table.CheckConstraint("ck_sweeps_status", "status IN ('pending', 'running', 'paused', 'cancelled', 'succeeded', 'failed')");
                    table.CheckConstraint("ck_sweeps_task_count", "task_count >= 0");
                });

            migrationBuilder.CreateTable(
                name: "workers",
                columns: table => new
                {
                    worker_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    host = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    devices_json = table.Column<string>(type: "jsonb", nullable: false),
                    slots = table.Column<int>(type: "integer", nullable: false),
                    busy = table.Column<int>(type: "integer", nullable: false),
                    models_cached_json = table.Column<string>(type: "jsonb", nullable: false),
                    tasks_done = table.Column<long>(type: "bigint", nullable: false),
                    tasks_failed = table.Column<long>(type: "bigint", nullable: false),
                    images_per_minute = table.Column<double>(type: "double precision", nullable: false),
                    version = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    last_heartbeat_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    first_seen_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_workers", x => x.worker_id);
                    table.CheckConstraint("ck_workers_slots", "slots >= 0 AND busy >= 0");
                });

            migrationBuilder.CreateTable(
                name: "render_tasks",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    sweep_id = table.Column<Guid>(type: "uuid", nullable: false),
                    task_index = table.Column<int>(type: "integer", nullable: false),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    priority = table.Column<int>(type: "integer", nullable: false),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    last_error = table.Column<string>(type: "text", nullable: true),
                    worker_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    parameters_json = table.Column<string>(type: "jsonb", nullable: false),
                    model = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    queued_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    finished_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    gpu_seconds = table.Column<double>(type: "double precision", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_render_tasks", x => x.id);
                    table.CheckConstraint("ck_render_tasks_attempts", "attempts >= 0");
                    table.CheckConstraint("ck_render_tasks_status", "status IN ('pending', 'queued', 'running', 'succeeded', 'failed', 'cancelled')");
                    table.CheckConstraint("ck_render_tasks_task_index", "task_index >= 0");
                    table.ForeignKey(
                        name: "fk_render_tasks_sweeps_sweep_id",
                        column: x => x.sweep_id,
                        principalTable: "sweeps",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "images",
                columns: table => new
                {
                    task_id = table.Column<Guid>(type: "uuid", nullable: false),
                    sweep_id = table.Column<Guid>(type: "uuid", nullable: false),
                    parameters_json = table.Column<string>(type: "jsonb", nullable: false),
                    prompt = table.Column<string>(type: "text", nullable: false),
                    negative_prompt = table.Column<string>(type: "text", nullable: false),
                    seed = table.Column<long>(type: "bigint", nullable: false),
                    width = table.Column<int>(type: "integer", nullable: false),
                    height = table.Column<int>(type: "integer", nullable: false),
                    steps = table.Column<int>(type: "integer", nullable: false),
                    scheduler = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    guidance_scale = table.Column<double>(type: "double precision", nullable: false),
                    seg_scale = table.Column<double>(type: "double precision", nullable: false),
                    seg_blur_sigma = table.Column<double>(type: "double precision", nullable: false),
                    seg_layers = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: false),
                    model_name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    model_file_hashes_json = table.Column<string>(type: "jsonb", nullable: false),
                    patch_version = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    software_version = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    worker_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    worker_host = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    device = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    onnx_runtime_version = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    execution_provider = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    timings_json = table.Column<string>(type: "jsonb", nullable: false),
                    image_sha256 = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    blob_name = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: false),
                    blob_uri = table.Column<string>(type: "character varying(2048)", maxLength: 2048, nullable: false),
                    image_width = table.Column<int>(type: "integer", nullable: false),
                    image_height = table.Column<int>(type: "integer", nullable: false),
                    image_bytes = table.Column<long>(type: "bigint", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_images", x => x.task_id);
                    table.CheckConstraint("ck_images_image_sha256", "image_sha256 ~ '^[0-9a-f]{64}$'");
                    table.CheckConstraint("ck_images_seg_blur_sigma", "seg_blur_sigma >= 0 AND seg_blur_sigma <> 'NaN'");
                    table.CheckConstraint("ck_images_size", "width > 0 AND height > 0 AND image_width > 0 AND image_height > 0");
                    table.CheckConstraint("ck_images_steps", "steps > 0");
                    table.ForeignKey(
                        name: "fk_images_render_tasks_task_id",
                        column: x => x.task_id,
                        principalTable: "render_tasks",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "fk_images_sweeps_sweep_id",
                        column: x => x.sweep_id,
                        principalTable: "sweeps",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_images_image_sha256",
                table: "images",
                column: "image_sha256");

            migrationBuilder.CreateIndex(
                name: "ix_images_sweep_id",
                table: "images",
                column: "sweep_id");

            migrationBuilder.CreateIndex(
                name: "ix_render_tasks_dispatch",
                table: "render_tasks",
                columns: new[] { "priority", "created_at", "task_index" },
                descending: new[] { true, false, false },
                filter: "status = 'pending'");

            migrationBuilder.CreateIndex(
                name: "ix_render_tasks_running_by_worker",
                table: "render_tasks",
                column: "worker_id",
                filter: "status = 'running'");

            migrationBuilder.CreateIndex(
                name: "ix_render_tasks_sweep_id_status",
                table: "render_tasks",
                columns: new[] { "sweep_id", "status" });

            migrationBuilder.CreateIndex(
                name: "ix_render_tasks_sweep_id_task_index",
                table: "render_tasks",
                columns: new[] { "sweep_id", "task_index" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_sweeps_created_at",
                table: "sweeps",
                column: "created_at");

            migrationBuilder.CreateIndex(
                name: "ix_sweeps_idempotency_key",
                table: "sweeps",
                column: "idempotency_key",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_sweeps_status",
                table: "sweeps",
                column: "status");

            migrationBuilder.CreateIndex(
                name: "ix_workers_last_heartbeat_at",
                table: "workers",
                column: "last_heartbeat_at");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "images");

            migrationBuilder.DropTable(
                name: "workers");

            migrationBuilder.DropTable(
                name: "render_tasks");

            migrationBuilder.DropTable(
                name: "sweeps");
        }
    }
}
