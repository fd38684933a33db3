"""Running a session: attendance, the materials shared and a note for the next facilitator."""
