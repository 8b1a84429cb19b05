using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Seg.Storage.Migrations
{
    /// <inheritdoc />
    public partial class BlobNameIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "ix_images_blob_name",
                table: "images",
                column: "blob_name")
                .Annotation("Relational:Collation", new[] { "C" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_images_blob_name",
                table: "images");
        }
    }
}
