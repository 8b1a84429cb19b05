using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Seg.Storage.Migrations
{
    /// <inheritdoc />
    public partial class TaskResends : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "resends",
                table: "render_tasks",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.CreateIndex(
                name: "ix_render_tasks_queued",
                table: "render_tasks",
                column: "queued_at",
                filter: "status = 'queued'");

            migrationBuilder.AddCheckConstraint(
                name: "ck_render_tasks_resends",
                table: "render_tasks",
                sql: "resends >= 0");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_render_tasks_queued",
                table: "render_tasks");

            migrationBuilder.DropCheckConstraint(
                name: "ck_render_tasks_resends",
                table: "render_tasks");

            migrationBuilder.DropColumn(
                name: "resends",
                table: "render_tasks");
        }
    }
}
