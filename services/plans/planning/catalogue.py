"""The default checklist: the inspection contents named in the seed plans and letters, with stable codes."""
from __future__ import annotations

DEFAULT_KEY = "default"
DEFAULT_TITLE = "Nội dung kiểm tra công vụ, cải cách hành chính (danh mục mặc định)"

# (code, parent_code, title, description). Codes never change: findings and reports refer to them.
_CRITERIA: list[tuple[str, str | None, str, str | None]] = [
    ("KLKC", None, "Kỷ luật, kỷ cương hành chính", None),
    ("KLKC.01", "KLKC", "Chấp hành thời giờ làm việc",
     "Giờ giấc làm việc, sử dụng hiệu quả thời gian làm việc của cán bộ, công chức, viên chức, người lao động."),
    ("KLKC.02", "KLKC", "Không uống rượu, bia trước, trong giờ làm việc và giờ nghỉ trưa",
     "Chỉ thị số 02/CT-UBND của UBND tỉnh; Chỉ thị số 26/CT-TTg của Thủ tướng Chính phủ; "
     "Luật Phòng, chống tác hại của rượu, bia năm 2019."),
    ("KLKC.03", "KLKC", "Chấp hành mệnh lệnh hành chính của cấp trên",
     "Thực hiện nhiệm vụ Tỉnh ủy, UBND tỉnh giao, đúng quy định, khẩn trương."),
    ("VHCS", None, "Đạo đức công vụ, văn hóa công sở", None),
    ("VHCS.01", "VHCS", "Thái độ, tác phong, lề lối làm việc, văn hóa giao tiếp ứng xử", None),
    ("VHCS.02", "VHCS", "Thực hiện quy định về văn hóa công sở",
     "Trang phục, đeo thẻ công chức, bài trí công sở, nội quy, quy chế làm việc."),
    ("VHCS.03", "VHCS", "Nhũng nhiễu, gây phiền hà cho người dân, tổ chức, doanh nghiệp",
     "Sách nhiễu, gây khó khăn, phiền hà trong giải quyết công việc."),
    ("TTHC", None, "Giải quyết thủ tục hành chính theo cơ chế một cửa, một cửa liên thông", None),
    ("TTHC.01", "TTHC", "Tiếp nhận, giải quyết và trả kết quả tại Bộ phận Một cửa",
     "Nghị định 118/2025/NĐ-CP; Thông tư 03/2025/TT-VPCP."),
    ("TTHC.02", "TTHC", "Hồ sơ trễ hẹn và văn bản xin lỗi tổ chức, công dân", None),
    ("TTHC.02.01", "TTHC.02", "Hồ sơ trễ hẹn lĩnh vực đất đai", None),
    ("TTHC.02.02", "TTHC.02", "Hồ sơ trễ hẹn lĩnh vực xây dựng", None),
    ("TTHC.02.03", "TTHC.02", "Hồ sơ trễ hẹn lĩnh vực đầu tư", None),
    ("TTHC.03", "TTHC", "Kiến nghị sửa đổi, bổ sung, ban hành mới hoặc bãi bỏ thủ tục hành chính", None),
    ("DVCTT", None, "Dịch vụ công trực tuyến", None),
    ("DVCTT.01", "DVCTT", "Cung cấp và sử dụng dịch vụ công trực tuyến toàn trình, một phần", None),
    ("DVCTT.02", "DVCTT", "Tỷ lệ hồ sơ tiếp nhận, giải quyết trực tuyến", None),
    ("TCD", None, "Tiếp công dân, giải quyết khiếu nại, tố cáo", None),
    ("TCD.01", "TCD", "Tổ chức tiếp công dân", None),
    ("TCD.02", "TCD", "Giải quyết đơn thư khiếu nại, tố cáo, kiến nghị, phản ánh", None),
    ("TCCB", None, "Tuyển dụng, sử dụng, quản lý biên chế và vị trí việc làm", None),
    ("TCCB.01", "TCCB", "Tuyển dụng, sử dụng cán bộ, công chức, viên chức", None),
    ("TCCB.02", "TCCB", "Sử dụng và quản lý biên chế", None),
    ("TCCB.03", "TCCB", "Bố trí, sắp xếp công chức, viên chức theo vị trí việc làm", None),
    ("TCTC", None, "Tổ chức bộ máy và cơ chế tự chủ", None),
    ("TCTC.01", "TCTC", "Tổ chức và hoạt động của các cơ quan chuyên môn", None),
    ("TCTC.02", "TCTC", "Chế độ tự chủ, tự chịu trách nhiệm của cơ quan hành chính, đơn vị sự nghiệp công lập", None),
    ("CQS", None, "Xây dựng và phát triển chính quyền số", None),
    ("CQS.01", "CQS", "Ứng dụng công nghệ thông tin, chuyển đổi số trong hoạt động công vụ", None),
    ("NDD", None, "Trách nhiệm của người đứng đầu và cấp phó của người đứng đầu", "Công văn số 5712/UBND-NC."),
    ("NDD.01", "NDD", "Triển khai, thực hiện chức trách, nhiệm vụ được giao", None),
    ("NDD.02", "NDD", "Thời gian xử lý công việc (từ tiếp nhận, xử lý đến tham mưu)", None),
    ("NDD.03", "NDD", "Chất lượng công việc được giao theo phân công", None),
    ("NDD.04", "NDD", "Chủ động tham mưu UBND tỉnh các nội dung Trung ương, Tỉnh ủy giao",
     "Văn bản hành chính, văn bản quy phạm pháp luật, nội dung trình Kỳ họp Hội đồng nhân dân tỉnh."),
    ("NDD.05", "NDD", "Kiểm tra ngẫu nhiên hồ sơ cụ thể trên từng lĩnh vực", None),
    ("NDD.06", "NDD", "Vai trò nêu gương của người đứng đầu", None),
]


def default_criteria() -> list[dict]:
    """The default catalogue as criteria dicts (code, title, parent_code, description)."""
    return [{"code": c, "parent_code": p, "title": t, "description": d} for c, p, t, d in _CRITERIA]
