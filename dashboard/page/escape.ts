/** Text made safe for HTML content and quoted attribute values (names and metrics come from users' repositories). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
