using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Seg.Storage.Migrations
{
    /// <inheritdoc />
    public partial class TraceIds : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "trace_parent",
                table: "render_tasks",
                type: "character varying(55)",
                maxLength: 55,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "trace_id",
                table: "images",
                type: "character varying(32)",
                maxLength: 32,
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "trace_parent",
                table: "render_tasks");

            migrationBuilder.DropColumn(
                name: "trace_id",
                table: "images");
        }
    }
}
