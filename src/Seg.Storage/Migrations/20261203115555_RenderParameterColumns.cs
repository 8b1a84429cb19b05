using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Seg.Storage.Migrations
{
    /// <inheritdoc />
    public partial class RenderParameterColumns : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.RenameColumn(
                name: "model_name",
                table: "images",
                newName: "model");

            migrationBuilder.AddColumn<double>(
                name: "guidance_rescale",
                table: "images",
                type: "double precision",
                nullable: false,
                defaultValue: 0.0);

            migrationBuilder.AddColumn<double>(
                name: "seg_window_start",
                table: "images",
                type: "double precision",
                nullable: false,
                defaultValue: 0.0);

            migrationBuilder.AddColumn<double>(
                name: "seg_window_stop",
                table: "images",
                type: "double precision",
                nullable: false,
                defaultValue: 1.0);

            migrationBuilder.AddColumn<string>(
                name: "vae",
                table: "images",
                type: "character varying(200)",
                maxLength: 200,
                nullable: true);

            // Rows written before these columns existed: the values are in the task's parameters_json (a null vae,
            // the model's own VAE, stays NULL; an absent value is the parameter's default).
            migrationBuilder.Sql("""
                UPDATE images SET
                    vae = parameters_json ->> 'vae',
                    guidance_rescale = COALESCE((parameters_json ->> 'guidance_rescale')::double precision, 0),
                    seg_window_start = COALESCE((parameters_json ->> 'seg_window_start')::double precision, 0),
                    seg_window_stop = COALESCE((parameters_json ->> 'seg_window_stop')::double precision, 1);
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "guidance_rescale",
                table: "images");

            migrationBuilder.DropColumn(
                name: "seg_window_start",
                table: "images");

            migrationBuilder.DropColumn(
                name: "seg_window_stop",
                table: "images");

            migrationBuilder.DropColumn(
                name: "vae",
                table: "images");

            migrationBuilder.RenameColumn(
                name: "model",
                table: "images",
                newName: "model_name");
        }
    }
}
