"""Vietnamese first, English second: the labels, and dates and numbers written the Vietnamese way."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

LANGUAGES = ("vi", "en")
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

# key -> (Vietnamese, English)
MESSAGES: dict[str, tuple[str, str]] = {
    "app": ("Kiểm tra công vụ", "Public-service inspection"),
    "skip": ("Bỏ qua đến nội dung chính", "Skip to main content"),
    "menu": ("Điều hướng chính", "Main navigation"),
    "dashboard": ("Tổng quan", "Dashboard"),
    "plans": ("Kế hoạch", "Plans"),
    "inspections": ("Cuộc kiểm tra", "Inspections"),
    "today": ("Hôm nay", "Today"),
    "remediations": ("Khắc phục", "Remediation"),
    "inbox": ("Thông báo", "Notifications"),
    "unread": ("chưa đọc", "unread"),
    "sign_in": ("Đăng nhập", "Sign in"),
    "sign_out": ("Đăng xuất", "Sign out"),
    "sign_in_idp": ("Đăng nhập qua hệ thống xác thực", "Sign in with the identity provider"),
    "demo_users": ("Người dùng thử (môi trường cục bộ)", "Demo users (local environment)"),
    "choose_role": ("Chọn vai trò", "Choose a role"),
    "unit_of_head": ("Đơn vị (cho Thủ trưởng đơn vị)", "Unit (for a unit head)"),
    "language": ("Ngôn ngữ", "Language"),
    "role.province_admin": ("Lãnh đạo UBND tỉnh / Quản trị", "Province admin"),
    "role.planner": ("Chuyên viên lập kế hoạch (Sở Nội vụ)", "Planner (Home Affairs)"),
    "role.team_leader": ("Trưởng đoàn kiểm tra", "Team leader"),
    "role.team_member": ("Thành viên đoàn kiểm tra", "Team member"),
    "role.unit_head": ("Thủ trưởng đơn vị được kiểm tra", "Head of inspected unit"),
    "role.central_viewer": ("Bộ Nội vụ (xem toàn quốc)", "Ministry of Home Affairs (central viewer)"),
    "role.viewer": ("Người xem", "Viewer"),
    "role.system_operator": ("Vận hành hệ thống", "System operator"),
    "service_down": ("Dịch vụ không phản hồi", "A service did not answer"),
    "service_down_text": ("Dịch vụ «{name}» không phản hồi. Vui lòng thử lại sau ít phút.",
                          "The {name} service did not answer. Please try again in a few minutes."),
    "error": ("Có lỗi", "Something went wrong"),
    "not_found": ("Không tìm thấy", "Not found"),
    "forbidden": ("Bạn không có quyền thực hiện thao tác này", "You may not do this"),
    "sections": ("Các phần của trang", "Sections of this page"),
    "back": ("Quay lại", "Back"),
    "year": ("Năm", "Year"),
    "province": ("Tỉnh, thành phố", "Province"),
    "all_provinces": ("Tất cả tỉnh, thành phố", "All provinces"),
    "show": ("Xem", "Show"),
    "save": ("Lưu", "Save"),
    "add": ("Thêm", "Add"),
    "remove": ("Xóa", "Remove"),
    "status": ("Trạng thái", "Status"),
    "unit": ("Đơn vị", "Unit"),
    "units": ("Đơn vị", "Units"),
    "unit_tree": ("Cây đơn vị", "Unit tree"),
    "title": ("Tiêu đề", "Title"),
    "type": ("Loại", "Type"),
    "teams": ("Đoàn kiểm tra", "Inspection teams"),
    "new_team": ("Thành lập đoàn kiểm tra", "New inspection team"),
    "lead_unit": ("Cơ quan chủ trì", "Lead unit"),
    "leader": ("Trưởng đoàn", "Team leader"),
    "members": ("Thành viên", "Members"),
    "person_id": ("Mã người dùng (tài khoản đăng nhập)", "Person id (sign-in subject)"),
    "full_name": ("Họ và tên", "Full name"),
    "members_help": ("Mỗi dòng một người: mã người dùng; họ và tên; e-mail (không bắt buộc)",
                     "One person a line: person id; full name; e-mail (optional)"),
    "new_plan": ("Lập kế hoạch mới", "New plan"),
    "create": ("Tạo", "Create"),
    "no_items": ("Chưa có dữ liệu.", "Nothing yet."),
    "schedule": ("Lịch kiểm tra", "Schedule"),
    "window": ("Thời gian", "Window"),
    "from": ("Từ ngày", "From"),
    "to": ("Đến ngày", "To"),
    "form": ("Hình thức", "Form"),
    "team": ("Đoàn", "Team"),
    "coverage": ("Kiểm tra độ bao phủ", "Coverage check"),
    "coverage_ok": ("Đạt mọi yêu cầu bao phủ", "Every coverage rule is met"),
    "coverage_short": ("Chưa đạt", "Not yet met"),
    "required": ("Yêu cầu", "Required"),
    "covered": ("Đã có", "Covered"),
    "shortfall": ("Còn thiếu", "Short by"),
    "approve": ("Phê duyệt", "Approve"),
    "decision_number": ("Số quyết định", "Decision number"),
    "decision_date": ("Ngày quyết định", "Decision date"),
    "signer": ("Người ký", "Signer"),
    "download_docx": ("Tải văn bản (DOCX)", "Download (DOCX)"),
    "conflicts": ("Xung đột lợi ích", "Conflicts of interest"),
    "new_surprise": ("Kiểm tra đột xuất", "Surprise inspection"),
    "citizen_report": ("Số phản ánh của người dân, doanh nghiệp (nếu có)", "Citizen's report reference (if any)"),
    "start": ("Bắt đầu kiểm tra", "Start the inspection"),
    "checklist": ("Nội dung kiểm tra", "Checklist"),
    "criterion": ("Tiêu chí", "Criterion"),
    "result": ("Kết quả", "Result"),
    "result.met": ("Đạt", "Met"),
    "result.not_met": ("Không đạt", "Not met"),
    "result.not_applicable": ("Không áp dụng", "Not applicable"),
    "note": ("Ghi chú", "Note"),
    "findings": ("Tồn tại, hạn chế, vi phạm", "Findings"),
    "record_finding": ("Ghi nhận tồn tại, vi phạm", "Record a finding"),
    "severity": ("Mức độ", "Severity"),
    "severity.minor": ("Nhẹ", "Minor"),
    "severity.moderate": ("Trung bình", "Moderate"),
    "severity.serious": ("Nghiêm trọng", "Serious"),
    "description": ("Mô tả", "Description"),
    "photo": ("Ảnh chụp (máy ảnh điện thoại)", "Photo (phone camera)"),
    "evidence": ("Minh chứng", "Evidence"),
    "queued": ("Chờ gửi (chưa có mạng)", "Waiting to send (offline)"),
    "offline_saved": ("Đã lưu trên máy, sẽ tự gửi khi có mạng.", "Saved on this device; it will be sent when you are back online."),
    "sent": ("Đã gửi", "Sent"),
    "pending": ("Đang chờ gửi", "Waiting to send"),
    "officials": ("Cán bộ liên quan", "Officials involved"),
    "official_name": ("Họ tên cán bộ liên quan (nếu có)", "Official involved (if any)"),
    "official_position": ("Chức vụ", "Position"),
    "assessments": ("Đánh giá người đứng đầu, cấp phó", "Assessment of the head and deputies"),
    "official_ref": ("Họ tên, chức danh", "Name and title"),
    "position": ("Vị trí", "Position"),
    "position.head": ("Người đứng đầu", "Head"),
    "position.deputy": ("Cấp phó", "Deputy"),
    "task_execution": ("Thực hiện nhiệm vụ được giao", "Execution of assigned tasks"),
    "processing_time": ("Thời gian xử lý hồ sơ, tham mưu", "Processing time"),
    "quality": ("Chất lượng công việc", "Quality of work"),
    "rating.good": ("Tốt", "Good"),
    "rating.satisfactory": ("Đạt", "Satisfactory"),
    "rating.poor": ("Chưa đạt", "Poor"),
    "dossiers": ("Kiểm tra hồ sơ", "Dossier checks"),
    "import_dossiers": ("Nhập danh sách hồ sơ một cửa (CSV)", "Import the one-stop dossier list (CSV)"),
    "dossiers_csv_help": ("Các cột: code, field, received_on, due_on, resolved_on (ngày dạng YYYY-MM-DD)",
                          "Columns: code, field, received_on, due_on, resolved_on (dates as YYYY-MM-DD)"),
    "draw_sample": ("Chọn mẫu hồ sơ ngẫu nhiên", "Draw a random sample"),
    "sample_size": ("Số hồ sơ", "Sample size"),
    "dossier_code": ("Mã hồ sơ", "Dossier code"),
    "check": ("Kiểm tra", "Check"),
    "days_late": ("Số ngày trễ hẹn", "Working days late"),
    "minutes": ("Biên bản làm việc", "Minutes"),
    "held_on": ("Ngày làm việc", "Held on"),
    "team_summary": ("Ý kiến của Đoàn kiểm tra", "The team's summary"),
    "unit_response": ("Ý kiến của đơn vị", "The unit's response"),
    "disagreement": ("Nội dung chưa thống nhất (nếu có)", "Points of disagreement (if any)"),
    "conclusion": ("Kết luận", "Conclusion"),
    "conclude": ("Ban hành kết luận", "Issue the conclusion"),
    "summary": ("Nội dung kết luận", "Summary"),
    "doc_number": ("Số, ký hiệu văn bản", "Document number"),
    "doc_date": ("Ngày ban hành", "Date issued"),
    "place": ("Địa danh", "Place"),
    "signer_title": ("Chức vụ người ký", "Signer's title"),
    "signer_name": ("Họ tên người ký", "Signer's name"),
    "recommendation": ("Kiến nghị", "Recommendation"),
    "rec.reminder": ("Nhắc nhở", "Reminder"),
    "rec.correction": ("Chấn chỉnh", "Correction"),
    "rec.self_criticism": ("Kiểm điểm", "Self-criticism review"),
    "rec.disciplinary": ("Xử lý kỷ luật", "Disciplinary handling"),
    "rec.procedure_change": ("Sửa đổi thủ tục", "Change a procedure"),
    "deadline": ("Hạn khắc phục", "Deadline"),
    "working_days": ("Số ngày làm việc", "Working days"),
    "report_progress": ("Báo cáo kết quả khắc phục", "Report progress"),
    "progress.in_progress": ("Đang khắc phục", "In progress"),
    "progress.done": ("Đã khắc phục xong", "Done"),
    "files": ("Tệp minh chứng", "Evidence files"),
    "reports": ("Báo cáo của đơn vị", "Reports from the unit"),
    "verify": ("Xác nhận kết quả khắc phục", "Verify"),
    "outcome.accepted": ("Chấp nhận", "Accept"),
    "outcome.returned": ("Trả lại", "Return"),
    "overdue": ("Quá hạn", "Overdue"),
    "extend": ("Gia hạn khắc phục", "Extend the deadline"),
    "new_deadline": ("Hạn mới", "New deadline"),
    "reason": ("Lý do", "Reason"),
    "history": ("Diễn biến", "History"),
    "days_left": ("còn {n} ngày", "{n} days left"),
    "days_over": ("quá {n} ngày", "{n} days over"),
    "mark_read": ("Đánh dấu đã đọc", "Mark read"),
    "annual_report": ("Báo cáo kết quả kiểm tra công vụ năm (DOCX)", "Annual report (DOCX)"),
    "export": ("Tải bảng", "Download table"),
    "chart": ("Biểu đồ", "Chart"),
    "table": ("Bảng số liệu", "Table"),
    "dash.coverage": ("Độ bao phủ so với kế hoạch", "Coverage against the plan"),
    "dash.violations": ("Vi phạm theo tiêu chí", "Violations by criterion"),
    "dash.violations_unit": ("Vi phạm theo đơn vị", "Violations by unit"),
    "dash.remediation": ("Khắc phục đúng hạn và quá hạn", "Remediation on time and overdue"),
    "dash.dossiers": ("Hồ sơ trễ hẹn", "Late dossiers"),
    "dash.year-over-year": ("So với cùng kỳ năm trước", "This year against last"),
    "dash.provinces": ("So sánh các tỉnh, thành phố", "Provinces compared"),
    "status.draft": ("Dự thảo", "Draft"),
    "status.approved": ("Đã phê duyệt", "Approved"),
    "status.amended": ("Đã điều chỉnh", "Amended"),
    "status.closed": ("Đã đóng", "Closed"),
    "status.scheduled": ("Đã lên lịch", "Scheduled"),
    "status.in_progress": ("Đang kiểm tra", "In progress"),
    "status.concluded": ("Đã kết luận", "Concluded"),
    "status.cancelled": ("Đã hủy", "Cancelled"),
    "status.assigned": ("Đã giao", "Assigned"),
    "status.reported": ("Đơn vị đã báo cáo", "Reported"),
    "status.verified": ("Đã xác nhận", "Verified"),
    "status.returned": ("Bị trả lại", "Returned"),
    "status.overdue": ("Quá hạn", "Overdue"),
    "status.extended": ("Gia hạn", "Extended"),
    "form.on_site": ("Trực tiếp", "On site"),
    "form.online": ("Trực tuyến", "Online"),
    "form.periodic": ("Định kỳ", "Periodic"),
    "form.surprise": ("Đột xuất", "Surprise"),
    "form.self": ("Tự kiểm tra", "Self-inspection"),
    "plan.public_service": ("Kiểm tra công vụ", "Public service"),
    "plan.administrative_reform": ("Cải cách hành chính", "Administrative reform"),
    "plan.thematic": ("Chuyên đề", "Thematic"),
    "kind.province_committee": ("UBND tỉnh", "Provincial People's Committee"),
    "kind.department": ("Sở, ban, ngành", "Department"),
    "kind.district_committee": ("UBND huyện", "District People's Committee"),
    "kind.commune_committee": ("UBND xã, phường", "Commune People's Committee"),
    "kind.one_stop_desk": ("Bộ phận một cửa", "One-stop desk"),
    "kind.state_enterprise": ("Doanh nghiệp nhà nước", "State enterprise"),
    "kind.association": ("Hội đặc thù", "Special association"),
    "open": ("Mở", "Open"),
    "saved": ("Đã lưu.", "Saved."),
    "welcome": ("Xin chào", "Hello"),
}


def translate(lang: str, key: str, **values: Any) -> str:
    """The label in the chosen language; an unknown key shows itself (easy to spot, never a crash)."""
    pair = MESSAGES.get(key)
    text = key if pair is None else pair[1 if lang == "en" else 0]
    return text.format(**values) if values else text


def label_or_raw(lang: str, prefix: str, value: str) -> str:
    """A known code's label (unit kinds, statuses), or the code itself when we have no label for it."""
    key = f"{prefix}.{value}"
    return translate(lang, key) if key in MESSAGES else str(value)


def format_date(value: Any) -> str:
    """dd/mm/yyyy, for date objects and ISO strings; datetimes in Vietnam's time zone."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00")) if "T" in value else date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        local = value.astimezone(VIETNAM) if value.tzinfo else value
        return local.strftime("%d/%m/%Y %H:%M")
    return value.strftime("%d/%m/%Y")


def format_number(value: Any, lang: str = "vi", decimals: int | None = None) -> str:
    """1.234,5 in Vietnamese, 1,234.5 in English; non-numbers pass through."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "" if value is None else str(value)
    if decimals is None:
        # Rates and averages: up to two decimals, without trailing zeros (0,75 · 1,5 · 2).
        text = f"{value:,.2f}".rstrip("0").rstrip(".") if not float(value).is_integer() else f"{value:,.0f}"
    else:
        text = f"{value:,.{decimals}f}"
    if lang == "en":
        return text
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
