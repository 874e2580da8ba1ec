using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Sessions.Tests;

/// <summary>Montage presets, custom montage validation (errors name the field), labels, pairs from muscle actions.</summary>
public sealed class MontageTests
{
    [Fact]
    public void Default_preset_is_bilateral_SCM_and_UT_on_4_channels()
    {
        Assert.Equal("default", Montage.Default.Name);
        Assert.Equal(
            new[] { (0, "SCM", Side.Left, "SCM L"), (1, "SCM", Side.Right, "SCM R"), (2, "UT", Side.Left, "UT L"), (3, "UT", Side.Right, "UT R") },
            Montage.Default.Entries.Select(e => (e.Channel, e.Muscle, e.Side, e.Label)).ToArray());
        Assert.Same(Montage.Default, Montage.Preset("DEFAULT"));
    }

    [Fact]
    public void Extended_preset_adds_splenius_and_levator_scapulae_on_8_channels()
    {
        Assert.Equal("extended", Montage.Extended.Name);
        Assert.Equal(["SCM L", "SCM R", "UT L", "UT R", "SPL L", "SPL R", "LS L", "LS R"], Montage.Extended.Entries.Select(e => e.Label));
        Assert.Equal(Enumerable.Range(0, 8), Montage.Extended.Entries.Select(e => e.Channel));
        Assert.Equal("splenius capitis", Montage.Extended.ForLabel("spl l")!.Info.Name);
        Assert.Equal(HeadRotation.SameSide, Montage.Extended.ForChannel(6)!.Info.Rotation);
        Assert.Same(Montage.Extended, Montage.Preset("extended"));
        Assert.Equal([Montage.Default, Montage.Extended], Montage.Presets);
    }

    [Fact]
    public void An_unknown_preset_is_refused_naming_the_field_and_the_presets()
    {
        var e = Assert.Throws<SessionRuleException>(() => Montage.Preset("full"));
        Assert.Equal("montage_preset", e.Field);
        Assert.Contains("default, extended", e.Message);
    }

    [Fact]
    public void Extended_antagonist_pairs_follow_the_rotation_actions()
    {
        // SCM/UT turn the face to the opposite side, SPL/LS to their own: on one side SCM (or UT) against SPL and LS,
        // and every muscle left against right.
        Assert.Equal(
            [
                "SCM L/SCM R", "SCM L/SPL L", "SCM L/LS L", "SCM R/SPL R", "SCM R/LS R",
                "UT L/UT R", "UT L/SPL L", "UT L/LS L", "UT R/SPL R", "UT R/LS R",
                "SPL L/SPL R", "LS L/LS R",
            ],
            Montage.Extended.AntagonistPairs.Select(p => p.Key));
        Assert.Equal(["SCM L/SCM R", "UT L/UT R", "SPL L/SPL R", "LS L/LS R"], Montage.Extended.BilateralPairs.Select(p => p.Key));
    }

    [Fact]
    public void An_unknown_muscle_has_no_rotation_and_forms_no_antagonist_pair()
    {
        Montage m = Montage.Create([new(0, "XYZ", Side.Left), new(1, "XYZ", Side.Right)]);
        Assert.Empty(m.AntagonistPairs);
        Assert.Equal(["XYZ L/XYZ R"], m.BilateralPairs.Select(p => p.Key));
        Assert.Equal(Side.Unspecified, m.Entries[0].TurnsHeadTo);
    }

    [Fact]
    public void A_valid_custom_montage_is_kept_in_channel_order()
    {
        Montage m = Montage.Create([new(5, "SPL", Side.Right), new(0, "SCM", Side.Left), new(2, "ABCDEFGHIJ", Side.Unspecified)], boardChannels: 8);
        Assert.Equal("custom", m.Name);
        Assert.Equal([0, 2, 5], m.Entries.Select(e => e.Channel));
        Assert.Equal("ABCDEFGHIJ", m.ForChannel(2)!.Label);
        Assert.Null(m.ForChannel(1));
    }

    public static TheoryData<MontageEntry[], int, string, string> Invalid => new()
    {
        { [new(0, "SCM", Side.Left), new(0, "UT", Side.Left)], 0, "montage.channel", "twice" },
        { [new(0, "SCM", Side.Left), new(4, "UT", Side.Left)], 4, "montage.channel", "4" },
        { [new(-1, "SCM", Side.Left)], 0, "montage.channel", "-1" },
        { [new(0, "SC-M", Side.Left)], 0, "montage.muscle", "SC-M" },
        { [new(0, "", Side.Left)], 0, "montage.muscle", "channel 0" },
        { [new(0, "ABCDEFGHIJK", Side.Left)], 0, "montage.muscle", "ABCDEFGHIJK" },
        { [new(0, "SCM", Side.Left), new(1, "scm", Side.Left)], 0, "montage.muscle", "appears twice" },
        { [new(0, "SCM", (Side)7)], 0, "montage.side", "channel 0" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Custom_montage_errors_name_the_field(MontageEntry[] entries, int boardChannels, string field, string inMessage)
    {
        var e = Assert.Throws<SessionRuleException>(() => Montage.Create(entries, boardChannels));
        Assert.Equal(field, e.Field);
        Assert.Contains(inMessage, e.Message);
        Assert.StartsWith("montage", e.Message);
    }

    [Fact]
    public void A_preset_on_a_smaller_board_is_refused_naming_the_channel()
    {
        var e = Assert.Throws<SessionRuleException>(() => Montage.Extended.On(4));
        Assert.Equal("montage.channel", e.Field);
        Assert.Contains("montage.channel 4", e.Message);
        Assert.Equal(4, Montage.Default.On(4).Entries.Count);
    }

    [Fact]
    public void FromLabels_of_a_recording_reads_the_muscles_and_skips_default_channel_labels()
    {
        Montage m = Montage.FromLabels(["SCM L", "SCM R", "UT L", "UT R", "CH5"]);
        Assert.Equal("recorded", m.Name);
        Assert.Equal(
            Montage.Default.Entries.Select(e => (e.Channel, e.Muscle, e.Side)),
            m.Entries.Select(e => (e.Channel, e.Muscle, e.Side)));
        Assert.Equal(["SCM L/SCM R", "UT L/UT R"], m.AntagonistPairs.Select(p => p.Key));
        Assert.Equal(["SCM L/SCM R", "UT L/UT R"], m.BilateralPairs.Select(p => p.Key));
        Assert.Equal(["SCM L", "SCM R", "UT L", "UT R", "CH5"], ChannelLabels.ForMontage(m, 5));
    }

    [Fact]
    public void FromLabels_skips_blank_and_repeated_labels_and_reads_long_side_words()
    {
        Montage m = Montage.FromLabels(["Trap right", "", "Trap right", "SPL", "CH5"]);
        Assert.Equal(new[] { (0, "Trap", Side.Right), (3, "SPL", Side.Unspecified) }, m.Entries.Select(e => (e.Channel, e.Muscle, e.Side)).ToArray());
    }

    // ---- channel labels ----

    [Theory]
    [InlineData("SCM", Side.Left, "SCM L")]
    [InlineData("UT", Side.Right, "UT R")]
    [InlineData("SPL", Side.Unspecified, "SPL")]
    public void Format_and_Parse_round_trip(string muscle, Side side, string label)
    {
        Assert.Equal(label, ChannelLabels.Format(muscle, side));
        Assert.Equal((muscle, side), ChannelLabels.Parse(label));
    }

    [Theory]
    [InlineData("Trap right", "Trap", Side.Right)]
    [InlineData("  SCM   l ", "SCM", Side.Left)]
    [InlineData("Levator LEFT", "Levator", Side.Left)]
    [InlineData("Splenius", "Splenius", Side.Unspecified)]
    [InlineData("Splenius X", "Splenius X", Side.Unspecified)]
    [InlineData("   ", "unknown", Side.Unspecified)]
    [InlineData(null, "unknown", Side.Unspecified)]
    public void Parse_reads_muscle_and_side(string? label, string muscle, Side side)
    {
        Assert.Equal((muscle, side), ChannelLabels.Parse(label));
    }

    [Fact]
    public void Default_labels_count_channels_from_1_and_recorded_labels_are_cut_to_12()
    {
        Assert.Equal("CH1", ChannelLabels.Default(0));
        Assert.Equal("CH5", ChannelLabels.Default(4));
        Assert.Equal("CH5", ChannelLabels.Recorded(null, 4));
        Assert.Equal("CH2", ChannelLabels.Recorded("   ", 1));
        Assert.Equal("SCM L", ChannelLabels.Recorded("  SCM L ", 0));
        Assert.Equal("A very long", ChannelLabels.Recorded("A very long label here", 0)); // "A very long " cut, then trimmed
        Assert.Equal("ABCDEFGHIJ L", ChannelLabels.Recorded("ABCDEFGHIJ L", 0));
        Assert.Equal(ChannelLabels.MaxLength, ChannelLabels.Recorded("ABCDEFGHIJ L", 0).Length);
        Assert.Equal(["SCM L", "SCM R", "UT L", "UT R", "CH5", "CH6"], ChannelLabels.ForMontage(Montage.Default, 6));
        Assert.Equal(["SCM L", "SCM R"], ChannelLabels.ForMontage(Montage.Default, 2));
        Assert.Equal(("left", "right", "none"), (ChannelLabels.TagValue(Side.Left), ChannelLabels.TagValue(Side.Right), ChannelLabels.TagValue(Side.Unspecified)));
    }

    [Fact]
    public void Every_valid_montage_label_fits_a_recording_and_the_annotation_vocabulary()
    {
        Montage m = Montage.Create([new(0, "ABCDEFGHIJ", Side.Left), new(1, "A", Side.Right), new(2, "X1", Side.Unspecified)]);
        foreach (MontageEntry e in m.Entries)
        {
            Assert.Equal(e.Label, ChannelLabels.Recorded(e.Label, e.Channel));
            ClinicalAnnotation a = ClinicalAnnotation.Parse(ClinicalAnnotation.CalibrationMvcText(e.Label), 0, 5_000)!;
            Assert.Equal((ClinicalAnnotationKind.CalibrationMvc, e.Label), (a.Kind, a.Label));
        }
    }

    [Fact]
    public void A_session_labels_its_channels_from_the_montage_and_defaults_beyond_it()
    {
        var rig = new Rig(Montage.Default, channels: 6);
        Assert.Equal(["SCM L", "SCM R", "UT L", "UT R", "CH5", "CH6"], rig.Session.Labels);
        rig.Apply("calibration reused CH5 rest 1 mvc 50 from 2026-01-01T00:00:00Z", 0);
        rig.Frame(Rig.Constant(10));
        Assert.Equal(20, rig.Session.CalibrationOf("CH5")!.PercentMvc(10));
        Assert.Equal(20f, rig.Outputs[^1].Values[4].MvcPercent);
    }
}
