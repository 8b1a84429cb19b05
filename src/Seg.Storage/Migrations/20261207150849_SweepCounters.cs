using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Seg.Storage.Sql;

#nullable disable

namespace Seg.Storage.Migrations
{
    /// <inheritdoc />
    public partial class SweepCounters : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "started_at",
                table: "sweeps",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "sweep_counters",
                columns: table => new
                {
                    sweep_id = table.Column<Guid>(type: "uuid", nullable: false),
                    pending = table.Column<int>(type: "integer", nullable: false),
                    queued = table.Column<int>(type: "integer", nullable: false),
                    running = table.Column<int>(type: "integer", nullable: false),
                    succeeded = table.Column<int>(type: "integer", nullable: false),
                    failed = table.Column<int>(type: "integer", nullable: false),
                    cancelled = table.Column<int>(type: "integer", nullable: false),
                    resends = table.Column<int>(type: "integer", nullable: false),
                    gpu_seconds = table.Column<double>(type: "double precision", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_sweep_counters", x => x.sweep_id);
                    table.ForeignKey(
                        name: "fk_sweep_counters_sweeps_sweep_id",
                        column: x => x.sweep_id,
                        principalTable: "sweeps",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            // Hand-added: the counters of the sweeps already stored, their start times, then the triggers that keep
            // the counters from now on (Seg.Storage.Sql.SweepCounterTriggers, shared with the SQLite schema).
            migrationBuilder.Sql(SweepCounterTriggers.BackfillSql);
            migrationBuilder.Sql("""
                UPDATE sweeps SET started_at = (SELECT min(coalesce(t.started_at, t.queued_at)) FROM render_tasks t WHERE t.sweep_id = sweeps.id);
                """);
            migrationBuilder.Sql(SweepCounterTriggers.PostgreSqlCreate);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(SweepCounterTriggers.PostgreSqlDrop);

            migrationBuilder.DropTable(
                name: "sweep_counters");

            migrationBuilder.DropColumn(
                name: "started_at",
                table: "sweeps");
        }
    }
}
