"""Six commune-level administrative procedures and the documents of their dossiers.

For each case: the one-stop counter's receipt ("Giấy tiếp nhận hồ sơ và hẹn trả kết
quả", QR code at the top left), the citizen's form (đơn đề nghị / tờ khai, motto at the
top, signed by the applicant), and the result issued by the commune People's Committee
(quyết định, giấy xác nhận, công văn or thông báo; signed and sealed).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from . import content as C
from .documents import Block, Case, Doc, center, label, para


@dataclass(frozen=True)
class Procedure:
    code: str  # mã thủ tục hành chính
    name: str
    form: str  # "don" | "to_khai"
    form_subject: str
    result: str  # document kind of the result
    days: int  # working days to resolve
    papers: tuple[str, ...]


PROCEDURES = {
    "tro_cap": Procedure("1.001776", "Thực hiện trợ cấp xã hội hàng tháng đối với đối tượng bảo trợ xã hội",
                         "to_khai", "Đề nghị trợ giúp xã hội", "quyet_dinh", 15,
                         ("Tờ khai đề nghị trợ giúp xã hội (bản chính)",
                          "Bản sao giấy khai sinh hoặc giấy tờ chứng minh độ tuổi")),
    "mai_tang": Procedure("1.001758", "Hỗ trợ chi phí mai táng cho đối tượng bảo trợ xã hội",
                          "to_khai", "Đề nghị hỗ trợ chi phí mai táng", "quyet_dinh", 3,
                          ("Tờ khai đề nghị hỗ trợ chi phí mai táng (bản chính)",
                           "Bản sao giấy báo tử hoặc trích lục khai tử")),
    "hon_nhan": Procedure("1.004873", "Cấp Giấy xác nhận tình trạng hôn nhân",
                          "to_khai", "Cấp Giấy xác nhận tình trạng hôn nhân", "giay_xac_nhan", 3,
                          ("Tờ khai cấp Giấy xác nhận tình trạng hôn nhân (bản chính)",)),
    "hoan_canh": Procedure("2.000794", "Xác nhận hoàn cảnh gia đình khó khăn",
                           "don", "Về việc xác nhận hoàn cảnh gia đình khó khăn", "giay_xac_nhan", 2,
                           ("Đơn đề nghị xác nhận hoàn cảnh gia đình (bản chính)",)),
    "kien_nghi": Procedure("2.002161", "Giải quyết kiến nghị, phản ánh về đất đai",
                           "don", "Về việc xem xét giải quyết kiến nghị về ranh giới thửa đất", "cong_van", 10,
                           ("Đơn kiến nghị (bản chính)", "Bản sao Giấy chứng nhận quyền sử dụng đất")),
    "cay_trong": Procedure("1.008004", "Đăng ký chuyển đổi cơ cấu cây trồng trên đất trồng lúa",
                           "don", "Về việc đăng ký chuyển đổi cơ cấu cây trồng trên đất trồng lúa", "thong_bao", 5,
                           ("Đơn đăng ký chuyển đổi cơ cấu cây trồng trên đất trồng lúa (bản chính)",)),
}

COMMIT = ("Tôi xin cam đoan những nội dung khai trên đây là đúng sự thật và chịu trách nhiệm "
          "trước pháp luật về lời cam đoan của mình.")
SIGNER_NOTE = "(Ký, ghi rõ họ tên)"


def _li(text: str, **kw) -> Block:
    """A "- …" or "1. …" line: left aligned, following lines hang under the text."""
    kw.setdefault("indent", 0)
    kw.setdefault("hang", 5)
    return para(text, align="left", **kw)


def _cancu(text: str) -> Block:
    return para(text, "italic")


def result_date(case: Case) -> dt.date:
    """Issued on or a little before the promised day."""
    days = PROCEDURES[case.procedure].days
    return C.add_working_days(case.received, max(1, days - case.rng.randint(0, 2)))


def doc_no(case: Case, d: dt.date) -> str:
    return C.doc_number(max(1, int(d.timetuple().tm_yday * case.rng.uniform(0.25, 1.6))))


# --------------------------------------------------------------------------- receipt


def receipt(case: Case) -> Doc:
    p, a, rng, c = PROCEDURES[case.procedure], case.applicant, case.rng, case.commune
    unit = "Trung tâm Phục vụ hành chính công" if case.reformed else "Bộ phận Tiếp nhận và Trả kết quả"
    agency = C.nfc(unit.upper())
    back = C.add_working_days(case.received, p.days)
    hh, mm = rng.randint(7, 16), rng.choice((0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55))
    body = [
        center(rng.choice(("(Liên: Lưu)", "(Liên: Giao khách hàng)")), "italic", size=13),
        para(f"{unit} {c.kind} {c.name} tiếp nhận hồ sơ của:", before=0.4),
        label("Ông (bà):", a.name, indent=12.7),
        label("Số định danh cá nhân:", a.citizen_id, indent=12.7),
        label("Địa chỉ:", a.address, indent=12.7, hang=0),
        label("Số điện thoại:", a.phone, indent=12.7),
        label("Nội dung yêu cầu giải quyết:", p.name, indent=12.7, align="justify"),
        _li("1. Thành phần hồ sơ nộp gồm:", indent=12.7, hang=0),
        *[_li(f"- {x};", indent=12.7, hang=12.7) for x in p.papers],
        _li("2. Số lượng hồ sơ: 01 (bộ).", indent=12.7),
        _li(f"3. Thời gian giải quyết hồ sơ theo quy định là: {p.days:02d} ngày làm việc.", indent=12.7),
        _li(f"4. Thời gian nhận hồ sơ: {hh:02d} giờ {mm:02d} phút, ngày {C.short_date(case.received)}.",
            indent=12.7),
        _li(f"5. Thời gian trả kết quả giải quyết hồ sơ: {rng.choice((8, 9, 14, 15)):02d} giờ 00 phút, "
            f"ngày {C.short_date(back)}.", indent=12.7),
        _li(f"6. Đăng ký nhận kết quả tại: {unit} {c.kind} {c.name}.", indent=12.7),
    ]
    return Doc(
        kind="receipt", name="tiep_nhan",
        parent=(C.nfc(f"UBND {c.kind.upper()} {c.name.upper()}"),), agency=(agency,),
        place=case.place, date=case.received, date_line=case.date_line(case.received),
        type_name="GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", code_line=f"Mã hồ sơ: {case.code}",
        body=body, signer=C.Signer(("NGƯỜI TIẾP NHẬN HỒ SƠ",), case.officer),
        co_signer=C.Signer(("NGƯỜI NỘP HỒ SƠ",), a.name), signer_note="(Ký và ghi rõ họ tên)",
        qr=f"MaHS:{case.code};MaTTHC:{p.code};SoDinhDanh:{a.citizen_id}",
        dossier_codes=(case.code,), citizen_ids=(a.citizen_id,))


# --------------------------------------------------------------------------- citizen's form


def _relative(case: Case, *, older: bool) -> C.Person:
    age = (70, 95) if older else (6, 17)
    return C.person(case.rng, case.commune, case.received, age=age)


def form(case: Case) -> Doc:
    p, a, rng = PROCEDURES[case.procedure], case.applicant, case.rng
    ids = [a.citizen_id]
    to_ubnd = f"Kính gửi: {case.committee_lower}"
    d = case.received - dt.timedelta(days=rng.choice((0, 0, 0, 1, 2)))
    if p.form == "to_khai":
        kind, title, signer_title = "to_khai", "TỜ KHAI", "NGƯỜI KHAI"
    else:
        kind, title, signer_title = "don", "ĐƠN ĐỀ NGHỊ", "NGƯỜI LÀM ĐƠN"
    body = [center(to_ubnd, "regular", before=0.3)]
    me = [label("Họ, chữ đệm, tên:", a.name), label("Ngày, tháng, năm sinh:", C.short_date(a.birth)),
          label("Giới tính:", f"{a.gender}; Dân tộc: Kinh; Quốc tịch: Việt Nam"),
          label("Số định danh cá nhân:", a.citizen_id), label("Nơi cư trú:", a.address),
          label("Số điện thoại:", a.phone)]
    if case.procedure == "hon_nhan":
        purpose = rng.choice(("Để làm thủ tục đăng ký kết hôn.", "Để bổ sung hồ sơ vay vốn ngân hàng.",
                              "Để làm thủ tục mua bán, chuyển nhượng quyền sử dụng đất."))
        body += [label("Họ, chữ đệm, tên người yêu cầu:", a.name),
                 label("Nơi cư trú:", a.address),
                 label("Giấy tờ tùy thân:", f"CCCD số: {a.citizen_id}, cấp ngày "
                       f"{C.short_date(a.birth.replace(year=max(a.birth.year + 14, 2021)))}"),
                 label("Quan hệ với người được cấp Giấy xác nhận tình trạng hôn nhân:", "bản thân"),
                 para("Đề nghị cấp Giấy xác nhận tình trạng hôn nhân cho người có tên dưới đây:", indent=0),
                 *me[:5],
                 label("Tình trạng hôn nhân:", "Hiện tại chưa đăng ký kết hôn với ai."),
                 label("Mục đích sử dụng Giấy xác nhận tình trạng hôn nhân:", purpose)]
    elif case.procedure == "tro_cap":
        married = rng.random() < 0.6
        spouse = C.person(rng, case.commune, case.received, male=not a.male, age=(60, 90))
        members = []
        if married:
            members.append(_li(f"- {spouse.name}, sinh năm {spouse.birth.year}, quan hệ với đối tượng: "
                               f"{'chồng' if spouse.male else 'vợ'}; số định danh cá nhân: {spouse.citizen_id}."))
            ids.append(spouse.citizen_id)
        for _ in range(rng.randint(2, 3) if case.long_form else 0):
            kid = C.person(rng, case.commune, case.received, age=(25, 50))
            members.append(_li(f"- {kid.name}, sinh năm {kid.birth.year}, quan hệ với đối tượng: con; "
                               f"nghề nghiệp: {rng.choice(('làm nông', 'công nhân', 'buôn bán nhỏ', 'lao động tự do'))}; "
                               f"số định danh cá nhân: {kid.citizen_id}."))
            ids.append(kid.citizen_id)
        body += [para("I. THÔNG TIN CỦA ĐỐI TƯỢNG", "bold", indent=0, align="left"), *me,
                 label("Tình trạng hôn nhân:", "Có vợ/chồng" if married else rng.choice(("Góa", "Độc thân"))),
                 label("Đang hưởng chế độ nào sau đây:", "Không hưởng chế độ nào."),
                 para("II. THÔNG TIN VỀ HỘ GIA ĐÌNH", "bold", indent=0, align="left", before=0.3),
                 label("Số người trong hộ:", f"{len(members) + 1:02d}"), *members]
        if case.long_form:
            body.append(para("III. THÔNG TIN VỀ THU NHẬP VÀ ĐIỀU KIỆN SỐNG", "bold", indent=0,
                             align="left", before=0.3))
            body.append(para("Thu nhập bình quân của hộ gia đình thấp, chủ yếu từ làm nông và trợ cấp; "
                             "nhà ở cấp bốn đã xuống cấp, không có tài sản có giá trị. Bản thân tôi tuổi cao, "
                             "sức khỏe yếu, thường xuyên đau ốm, không còn khả năng lao động.", indent=12.7))
    elif case.procedure == "mai_tang":
        dead = _relative(case, older=True)
        dday = case.received - dt.timedelta(days=rng.randint(3, 40))
        body += [para("I. THÔNG TIN NGƯỜI CHẾT ĐƯỢC HỖ TRỢ CHI PHÍ MAI TÁNG", "bold", indent=0, align="left"),
                 label("Họ, chữ đệm, tên:", dead.name), label("Ngày, tháng, năm sinh:", C.short_date(dead.birth)),
                 label("Số định danh cá nhân:", dead.citizen_id), label("Nơi cư trú:", dead.address),
                 label("Ngày chết:", C.short_date(dday)),
                 label("Nguyên nhân chết:", rng.choice(("Bệnh già.", "Bệnh hiểm nghèo.", "Tai biến mạch máu não."))),
                 para("II. THÔNG TIN NGƯỜI ĐỨNG RA MAI TÁNG", "bold", indent=0, align="left", before=0.3),
                 *me, label("Quan hệ với người chết:", rng.choice(("con", "cháu", "vợ/chồng")))]
        ids.insert(0, dead.citizen_id)
        case.notes["deceased"] = (dead, dday)
    else:
        body += [label("Tôi tên là:", a.name), *me[1:]]
        if case.procedure == "hoan_canh":
            kid = _relative(case, older=False)
            case.notes["child"] = kid
            body.append(para(
                f"Gia đình tôi hiện có {rng.randint(4, 7)} nhân khẩu, thu nhập chủ yếu từ làm nông và làm thuê theo "
                f"mùa vụ, không ổn định. Năm {case.received.year - 1} gia đình tôi bị thiệt hại nặng do mưa lũ, "
                f"bản thân tôi thường xuyên đau ốm nên cuộc sống gặp rất nhiều khó khăn.", before=0.3))
            body.append(para(
                f"Vậy tôi làm đơn này kính đề nghị {case.committee_lower} xác nhận hoàn cảnh gia đình khó khăn "
                f"để con tôi là {kid.name}, sinh ngày {C.short_date(kid.birth)}, được xét miễn, giảm học phí "
                f"và hỗ trợ chi phí học tập năm học {case.received.year}-{case.received.year + 1}."))
        elif case.procedure == "kien_nghi":
            nname, nmale = C.person_name(rng)
            neighbour = f"{'ông' if nmale else 'bà'} {nname}"
            parcel, sheet, area = rng.randint(40, 900), rng.randint(3, 40), rng.randint(1500, 6000) / 10
            case.notes["parcel"] = (parcel, sheet, area, neighbour)
            body.append(para(
                f"Gia đình tôi đang sử dụng thửa đất số {parcel}, tờ bản đồ số {sheet}, diện tích "
                f"{str(area).replace('.', ',')} m² đã được cấp Giấy chứng nhận quyền sử dụng đất. Tháng "
                f"{rng.randint(1, 12)} năm {case.received.year - 1}, hộ {neighbour} ở liền kề đã xây dựng tường "
                f"rào lấn sang phần đất của gia đình tôi khoảng {rng.choice(('0,5', '0,8', '1,2'))} m theo chiều "
                f"ngang.", before=0.3))
            body.append(para(
                f"Gia đình tôi đã nhiều lần gặp gỡ, trao đổi nhưng hộ {neighbour} không chấp nhận tháo dỡ. "
                f"Vậy tôi làm đơn này kính đề nghị {case.committee_lower} xem xét, kiểm tra thực địa và giải "
                f"quyết dứt điểm việc tranh chấp ranh giới nói trên."))
        else:  # cay_trong
            parcel, sheet = rng.randint(100, 990), rng.randint(2, 30)
            area = rng.choice((850, 1200, 1250, 1800, 2400, 3000))
            crop = rng.choice(("ngô", "đậu xanh", "dưa hấu", "ớt", "lạc"))
            case.notes["crop"] = (parcel, sheet, area, crop)
            body.append(para(
                f"Tôi đang sử dụng thửa đất trồng lúa số {parcel}, tờ bản đồ số {sheet}, diện tích "
                f"{C.money(area)} m². Do thiếu nước tưới, sản xuất lúa kém hiệu quả, nay tôi đăng ký chuyển đổi "
                f"sang trồng {crop} từ vụ Hè Thu năm {case.received.year}.", before=0.3))
            body.append(para(
                "Tôi cam kết thực hiện đúng quy định của pháp luật về đất đai, không làm mất đi các điều kiện "
                "phù hợp để trồng lúa trở lại và không làm ảnh hưởng đến sản xuất của các hộ liền kề."))
    if case.long_form and case.procedure != "tro_cap":
        body.append(para("Kèm theo đơn này gồm: bản sao Căn cước công dân, bản sao sổ hộ khẩu và các giấy tờ "
                         "có liên quan khác để chứng minh nội dung đề nghị nêu trên.", before=0.3))
        body.append(para("Rất mong được sự quan tâm xem xét, giải quyết của quý cơ quan. Tôi xin chân thành "
                         "cảm ơn!"))
    body.append(para(COMMIT, "italic" if kind == "to_khai" else "regular", before=0.3))
    return Doc(kind=kind, name=kind, place=case.place, date=d, date_line=case.date_line(d),
               type_name=title, subject=p.form_subject, body=body,
               signer=C.Signer((signer_title,), a.name), signer_note=SIGNER_NOTE,
               citizen_ids=tuple(ids))
