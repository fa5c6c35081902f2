"""The result a commune People's Committee issues at the end of a procedure."""
from __future__ import annotations

import datetime as dt

from . import content as C
from .documents import TYPE_ABBREV, Block, Case, Doc, center, label, para
from .procedures import PROCEDURES, _cancu, doc_no, result_date

LAW_LOCAL = ("Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015; Luật sửa đổi, bổ sung "
             "một số điều của Luật Tổ chức Chính phủ và Luật Tổ chức chính quyền địa phương ngày 22 tháng 11 "
             "năm 2019;")
LAW_LOCAL_2025 = "Căn cứ Luật Tổ chức chính quyền địa phương ngày 16 tháng 6 năm 2025;"
DECREE_136 = ("Căn cứ Nghị định số 136/2013/NĐ-CP ngày 21 tháng 10 năm 2013 của Chính phủ quy định chính sách "
              "trợ giúp xã hội đối với đối tượng bảo trợ xã hội;")
CIRCULAR_29 = ("Căn cứ Thông tư liên tịch số 29/2014/TTLT-BLĐTBXH-BTC ngày 24 tháng 10 năm 2014 của Bộ Lao động - "
               "Thương binh và Xã hội và Bộ Tài chính hướng dẫn thực hiện một số điều của Nghị định số "
               "136/2013/NĐ-CP;")
DECREE_20 = ("Căn cứ Nghị định số 20/2021/NĐ-CP ngày 15 tháng 3 năm 2021 của Chính phủ quy định chính sách "
             "trợ giúp xã hội đối với đối tượng bảo trợ xã hội;")
CIRCULAR_02 = ("Căn cứ Thông tư số 02/2021/TT-BLĐTBXH ngày 24 tháng 6 năm 2021 của Bộ trưởng Bộ Lao động - "
               "Thương binh và Xã hội hướng dẫn thực hiện một số điều của Nghị định số 20/2021/NĐ-CP;")
DECREE_76 = ("Căn cứ Nghị định số 76/2024/NĐ-CP ngày 01 tháng 7 năm 2024 của Chính phủ sửa đổi, bổ sung một "
             "số điều của Nghị định số 20/2021/NĐ-CP;")
EXTRA_ARTICLE = (
    "Trường hợp đối tượng thay đổi nơi cư trú, chết, mất tích hoặc không còn đủ điều kiện hưởng theo quy định "
    "thì công chức phụ trách có trách nhiệm báo cáo kịp thời để Ủy ban nhân dân xem xét, quyết định điều chỉnh "
    "hoặc thôi hưởng; việc chi trả được thực hiện qua tổ chức dịch vụ chi trả hoặc chuyển khoản vào tài khoản "
    "của đối tượng theo đề nghị. Kinh phí thực hiện được bảo đảm từ nguồn ngân sách địa phương theo phân cấp "
    "hiện hành; trường hợp phát sinh vướng mắc, các đơn vị, cá nhân kịp thời phản ánh để được hướng dẫn giải quyết.")
DUTIES = (
    "Công chức Văn hóa - Xã hội chủ trì, phối hợp với Trưởng thôn nơi đối tượng cư trú theo dõi, quản lý đối "
    "tượng, lập danh sách chi trả hằng tháng và báo cáo kết quả thực hiện về Ủy ban nhân dân theo định kỳ.",
    "Công chức Tài chính - Kế toán bảo đảm kinh phí, thực hiện thanh toán, quyết toán kinh phí đúng quy định "
    "của pháp luật về ngân sách nhà nước và chế độ kế toán hiện hành.",
    "Công chức Văn phòng - Thống kê cập nhật thông tin của đối tượng vào cơ sở dữ liệu an sinh xã hội, lưu "
    "trữ hồ sơ theo quy định và niêm yết công khai kết quả tại trụ sở Ủy ban nhân dân.",
    "Trưởng thôn, tổ trưởng tổ dân phố phối hợp theo dõi, kịp thời thông báo những trường hợp biến động về "
    "nhân khẩu, nơi cư trú của đối tượng để điều chỉnh chế độ cho phù hợp.",
)


def _leader(case: Case, *, collective: bool) -> C.Signer:
    return C.Signer(C.committee_signer(case.rng, collective=collective, on=case.received), case.leader)


def _staff(case: Case) -> str:
    return "công chức Văn hóa - Xã hội" if case.procedure in ("tro_cap", "mai_tang") else \
        "công chức Tư pháp - Hộ tịch"


def quyet_dinh(case: Case) -> Doc:
    rng, a, c = case.rng, case.applicant, case.commune
    d = result_date(case)
    chair = rng.random() < 0.6  # issued by the chair rather than by the committee
    authority = C.nfc(f"CHỦ TỊCH {case.committee}" if chair else case.committee)
    who = f"{a.honorific} {a.name}"
    ids = []
    new_rules = d >= dt.date(2021, 7, 1)  # Decree 20/2021 replaced Decree 136/2013
    base = 270000 if not new_rules else 360000 if d < dt.date(2024, 7, 1) else 500000  # mức chuẩn trợ giúp xã hội
    body = [center(authority, before=0.6),
            _cancu(LAW_LOCAL_2025 if case.reformed else LAW_LOCAL), _cancu(DECREE_20 if new_rules else DECREE_136)]
    if case.long_result:
        if not new_rules:
            body.append(_cancu(CIRCULAR_29))
        else:
            body += [_cancu(CIRCULAR_02)] + ([_cancu(DECREE_76)] if d >= dt.date(2024, 7, 1) else [])
        body.append(_cancu(f"Căn cứ Biên bản họp Hội đồng xét duyệt trợ giúp xã hội {c.kind} {c.name} ngày "
                           f"{C.short_date(case.received)};"))
    body.append(_cancu(f"Theo đề nghị của {_staff(case)} {c.kind} tại Tờ trình ngày {C.short_date(d)}."))
    body.append(center("QUYẾT ĐỊNH:", before=0.4))
    arts = []
    if case.procedure == "mai_tang":
        dead, dday = case.notes.get("deceased") or (C.person(rng, c, case.received, age=(70, 95)), case.received)
        amount = base * 20
        subject = f"Về việc hỗ trợ chi phí mai táng cho đối tượng bảo trợ xã hội {dead.name}"
        arts.append(f"Hỗ trợ chi phí mai táng cho {dead.honorific} {dead.name}, sinh ngày {C.short_date(dead.birth)}, "
                    f"số định danh cá nhân: {dead.citizen_id}, nơi cư trú: {dead.address}, là đối tượng bảo "
                    f"trợ xã hội đã chết ngày {C.short_date(dday)}. Người đứng ra mai táng: {who}, số định danh "
                    f"cá nhân: {a.citizen_id}. Mức hỗ trợ: {C.money(amount)} đồng ({C.in_words(amount)}).")
        ids += [dead.citizen_id, a.citizen_id]
    else:
        amount = int(base * rng.choice((1.0, 1.5, 2.0, 2.5)))
        subject = f"Về việc trợ cấp xã hội hàng tháng đối với {who}"
        arts.append(f"Trợ cấp xã hội hàng tháng đối với {who}, sinh ngày {C.short_date(a.birth)}, số định danh "
                    f"cá nhân: {a.citizen_id}, nơi cư trú: {a.address}. Mức trợ cấp hàng tháng: "
                    f"{C.money(amount)} đồng ({C.in_words(amount)}). Thời gian hưởng kể từ tháng {d.month} năm {d.year}.")
        ids.append(a.citizen_id)
    if case.long_result:
        arts.append(EXTRA_ARTICLE)
        arts.append(None)  # the duties article, numbered items
    arts.append(f"Quyết định này có hiệu lực kể từ ngày ký. Công chức Văn phòng - Thống kê, {_staff(case)}, "
                f"Trưởng thôn và {who} chịu trách nhiệm thi hành Quyết định này./.")
    for i, text in enumerate(arts, start=1):
        if text is None:
            body.append(Block([(f"Điều {i}.", "bold"), ("Tổ chức thực hiện:", "regular")]))
            body += [para(f"{k}. {duty}") for k, duty in enumerate(DUTIES, start=1)]
        else:
            body.append(Block([(f"Điều {i}.", "bold"), (text, "regular")]))
    n = len(arts)
    recipients = (f"- Như Điều {n};",
                  "- Phòng Văn hóa - Xã hội;" if case.reformed else "- Phòng Lao động - TB&XH huyện;",
                  "- Chủ tịch, các PCT UBND xã;" if c.kind == "xã" else f"- Chủ tịch, các PCT UBND {c.kind};",
                  "- Lưu: VT, VHXH.")
    return Doc(kind="quyet_dinh", name="quyet_dinh", number=doc_no(case, d), symbol=f"{TYPE_ABBREV['quyet_dinh']}-UBND",
               place=case.place, date=d, date_line=case.date_line(d), type_name="QUYẾT ĐỊNH",
               subject=C.nfc(subject), body=body, recipients=recipients,
               signer=_leader(case, collective=not chair), citizen_ids=tuple(ids))


def giay_xac_nhan(case: Case) -> Doc:
    a = case.applicant
    d = result_date(case)
    body = [para(f"{case.committee_lower} xác nhận:", "bold", before=0.6),
            label("Ông (bà):", a.name, indent=12.7), label("Ngày, tháng, năm sinh:", C.short_date(a.birth), indent=12.7),
            label("Giới tính:", f"{a.gender}; Dân tộc: Kinh; Quốc tịch: Việt Nam", indent=12.7),
            label("Số định danh cá nhân:", a.citizen_id, indent=12.7),
            label("Nơi cư trú:", a.address, indent=12.7, align="justify")]
    if case.procedure == "hon_nhan":
        subject, symbol = "Tình trạng hôn nhân", "GXN-UBND"
        body += [label("Tình trạng hôn nhân:", "Hiện tại chưa đăng ký kết hôn với ai.", indent=12.7),
                 para("Giấy này có giá trị sử dụng trong thời hạn 06 tháng, kể từ ngày cấp; được sử dụng để "
                      "làm thủ tục đăng ký kết hôn hoặc bổ sung hồ sơ theo đề nghị của người yêu cầu.")]
    else:
        kid = case.notes.get("child")
        subject, symbol = "Về việc xác nhận hoàn cảnh gia đình khó khăn", "GXN-UBND"
        body.append(para(f"Là hộ gia đình có hoàn cảnh khó khăn, thu nhập thấp, cư trú ổn định tại địa phương. "
                         f"Nội dung trình bày trong đơn đề nghị ngày {C.short_date(case.received)} của "
                         f"{a.honorific} {a.name} là đúng sự thật."))
        if kid:
            body.append(para(f"Giấy xác nhận này cấp cho {kid.name} sử dụng để làm hồ sơ đề nghị miễn, giảm học "
                             f"phí và hỗ trợ chi phí học tập theo quy định."))
    if case.long_result:
        body.append(para("Ủy ban nhân dân chịu trách nhiệm về nội dung xác nhận nêu trên căn cứ hồ sơ, tài liệu "
                         "do người yêu cầu cung cấp và kết quả xác minh tại nơi cư trú. Trường hợp phát hiện "
                         "thông tin không đúng sự thật, giấy xác nhận này không còn giá trị sử dụng."))
    recipients = (f"- {C.cap(a.honorific)} {a.name};", "- Lưu: VT, TP-HT.")
    return Doc(kind="giay_xac_nhan", name="giay_xac_nhan", number=doc_no(case, d), symbol=symbol,
               place=case.place, date=d, date_line=case.date_line(d), type_name="GIẤY XÁC NHẬN",
               subject=C.nfc(subject), body=body, recipients=recipients,
               signer=_leader(case, collective=True), citizen_ids=(a.citizen_id,))


def cong_van(case: Case) -> Doc:
    rng, a = case.rng, case.applicant
    d = result_date(case)
    parcel, sheet, area, neighbour = case.notes.get("parcel") or (125, 12, 356.4, "ông Nguyễn Văn Hùng")
    who = f"{a.honorific} {a.name}"
    vv = f"V/v trả lời đơn kiến nghị của {who}"
    body = [center(f"Kính gửi: {C.cap(who)}, {a.address}.", "regular", before=0.6),
            para(f"{case.committee_lower} nhận được đơn kiến nghị ngày {C.short_date(case.received)} của "
                 f"{who} về việc hộ {neighbour} xây dựng tường rào lấn sang thửa đất số {parcel}, tờ bản đồ số "
                 f"{sheet}. Sau khi kiểm tra hồ sơ địa chính và xác minh thực địa, {case.committee_lower} có ý "
                 f"kiến như sau:", before=0.4),
            para(f"1. Theo hồ sơ địa chính đang lưu trữ, thửa đất số {parcel} có diện tích "
                 f"{str(area).replace('.', ',')} m², ranh giới đã được các hộ liền kề ký xác nhận khi cấp Giấy "
                 f"chứng nhận quyền sử dụng đất."),
            para(f"2. Kết quả đo đạc ngày {C.short_date(d)} cho thấy tường rào của hộ {neighbour} lấn sang thửa "
                 f"đất nói trên khoảng {rng.choice(('0,4', '0,6', '0,9'))} m. Ủy ban nhân dân đã tổ chức hòa giải, "
                 f"hai bên thống nhất điều chỉnh lại tường rào theo đúng ranh giới.")]
    if case.long_result:
        body += [para(f"3. Giao công chức Địa chính - Xây dựng theo dõi, đôn đốc việc điều chỉnh tường rào "
                      f"trong thời hạn 30 ngày kể từ ngày nhận được văn bản này; trường hợp các bên không tự "
                      f"nguyện thực hiện thì hướng dẫn {who} gửi đơn đến Tòa án nhân dân có thẩm quyền để giải "
                      f"quyết theo quy định của pháp luật về đất đai và tố tụng dân sự."),
                 para("4. Trong thời gian chờ giải quyết, đề nghị các hộ giữ nguyên hiện trạng sử dụng đất, không "
                      "xây dựng thêm công trình trên phần diện tích đang có tranh chấp, giữ gìn tình làng nghĩa "
                      "xóm và chấp hành nghiêm các quy định của pháp luật.")]
    body.append(para(f"{case.committee_lower} trả lời để {who} được biết./."))
    signer = C.Signer(C.office_signer(rng, d), case.office) if rng.random() < 0.3 else _leader(case, collective=True)
    recipients = ("- Như trên;", "- TT Đảng ủy, HĐND xã (b/c);", "- Công chức Địa chính - Xây dựng;", "- Lưu: VT, ĐC.")
    return Doc(kind="cong_van", name="cong_van", number=doc_no(case, d), symbol=rng.choice(("UBND-ĐC", "UBND-VP")),
               vv=C.nfc(vv), place=case.place, date=d, date_line=case.date_line(d), body=body,
               recipients=recipients, signer=signer)


def thong_bao(case: Case) -> Doc:
    rng, a = case.rng, case.applicant
    d = result_date(case)
    parcel, sheet, area, crop = case.notes.get("crop") or (412, 7, 1250, "ngô")
    who = f"{a.honorific} {a.name}"
    subject = "Về việc chấp thuận đăng ký chuyển đổi cơ cấu cây trồng trên đất trồng lúa"
    body = [para(f"Xét đơn đăng ký chuyển đổi cơ cấu cây trồng trên đất trồng lúa ngày {C.short_date(case.received)} "
                 f"của {who} (mã hồ sơ: {case.code}), số định danh cá nhân: {a.citizen_id}, {case.committee_lower} "
                 f"thông báo như sau:", before=0.6),
            para(f"1. Chấp thuận cho {who} được chuyển đổi từ trồng lúa sang trồng {crop} trên thửa đất số "
                 f"{parcel}, tờ bản đồ số {sheet}, diện tích {C.money(area)} m²."),
            para("2. Người sử dụng đất thực hiện đúng kế hoạch chuyển đổi đã đăng ký, không làm mất đi các điều "
                 "kiện phù hợp để trồng lúa trở lại; không xây dựng công trình trên đất trồng lúa.")]
    if case.long_result:
        body += [para("3. Trường hợp chuyển đổi có kết hợp nuôi trồng thủy sản thì phần diện tích đất bị hạ thấp "
                      "không vượt quá 20% diện tích thửa đất; độ sâu hạ thấp không quá 120 cm so với mặt ruộng."),
                 para("4. Giao công chức Nông nghiệp và Môi trường theo dõi, hướng dẫn, kiểm tra việc thực hiện; "
                      "định kỳ tổng hợp, báo cáo kết quả chuyển đổi cơ cấu cây trồng trên địa bàn theo quy định.")]
    body.append(para(f"{case.committee_lower} thông báo để {who} biết và thực hiện./."))
    signer = C.Signer(C.office_signer(rng, d), case.office) if rng.random() < 0.3 else _leader(case, collective=True)
    recipients = (f"- {C.cap(who)};", "- Công chức Nông nghiệp;", "- Lưu: VT.")
    return Doc(kind="thong_bao", name="thong_bao", number=doc_no(case, d), symbol=f"{TYPE_ABBREV['thong_bao']}-UBND",
               place=case.place, date=d, date_line=case.date_line(d), type_name="THÔNG BÁO",
               subject=subject, body=body, recipients=recipients, signer=signer,
               dossier_codes=(case.code,), citizen_ids=(a.citizen_id,))


BUILDERS = {"quyet_dinh": quyet_dinh, "giay_xac_nhan": giay_xac_nhan, "cong_van": cong_van, "thong_bao": thong_bao}


def result(case: Case) -> Doc:
    """The issued result, with the committee's header and seal."""
    doc = BUILDERS[PROCEDURES[case.procedure].result](case)
    doc.parent, doc.agency = case.header()
    doc.seal_text = case.seal_text()
    return doc
