using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Seg.Storage.Migrations
{
    /// <summary>
    /// Task rows stop keeping their render parameters: the dispatcher expands them again from the sweep's stored
    /// definition and the task's index. Down adds the column back as <c>{}</c> (the values cannot be recomputed in
    /// SQL): cancel the open sweeps before going back to a version that reads it.
    /// </summary>
    public partial class DropTaskParameters : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "parameters_json",
                table: "render_tasks");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "parameters_json",
                table: "render_tasks",
                type: "jsonb",
                nullable: false,
                defaultValue: "{}");
        }
    }
}
