using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Seg.Storage.Migrations
{
    /// <inheritdoc />
    public partial class SweepSubmitterAndFingerprint : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "definition_sha256",
                table: "sweeps",
                type: "character varying(64)",
                maxLength: 64,
                nullable: false,
                defaultValue: "");

            migrationBuilder.AddColumn<string>(
                name: "submitted_by",
                table: "sweeps",
                type: "character varying(64)",
                maxLength: 64,
                nullable: false,
                defaultValue: "");

            // Sweeps stored before API keys were submitted without one.
            migrationBuilder.Sql("UPDATE sweeps SET submitted_by = 'anonymous'");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "definition_sha256",
                table: "sweeps");

            migrationBuilder.DropColumn(
                name: "submitted_by",
                table: "sweeps");
        }
    }
}
